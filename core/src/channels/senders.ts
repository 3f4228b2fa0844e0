import { signStandardWebhook } from "../secrets/standard-webhooks.ts";
import type { ChannelConfig } from "./channel-config.ts";
import { sendEmail } from "./email-sender.ts";
import { type RenderedMessage, type RunEventPayload, renderMessage } from "./run-message.ts";
import type { SendResult } from "./send-result.ts";

const RESPONSE_CHARS = 2048;
const USER_AGENT = "FabriCore-Notifications/1";

export interface SendOptions {
  /** Stable across retries: the Standard Webhooks `webhook-id` (receivers de-duplicate on it). */
  messageId: string;
  timeoutMs: number;
  /** Overrides fetch (tests); the global one otherwise. */
  fetch?: typeof fetch;
  nowSeconds?: () => number;
}

/** Sends one payload through one channel, whatever its kind. Never throws: every failure is a
 * SendResult saying whether it is worth retrying. */
export async function sendToChannel(
  channel: ChannelConfig,
  payload: RunEventPayload,
  options: SendOptions,
): Promise<SendResult> {
  const message = renderMessage(payload);
  switch (channel.kind) {
    case "webhook": {
      const body = JSON.stringify(payload);
      const now = options.nowSeconds?.() ?? Date.now() / 1000;
      return post(channel.url, body, options, {
        "content-type": "application/json",
        // Unsigned deliveries still carry the id and timestamp, so a receiver can de-duplicate.
        ...(channel.secret
          ? signStandardWebhook(channel.secret, options.messageId, body, now)
          : { "webhook-id": options.messageId, "webhook-timestamp": String(Math.floor(now)) }),
      });
    }
    case "slack":
      return post(channel.url, JSON.stringify(slackBody(message)), options, { "content-type": "application/json" });
    case "discord":
      return post(channel.url, JSON.stringify(discordBody(message)), options, { "content-type": "application/json" });
    case "ntfy":
      return post(channel.url, ntfyText(message), options, ntfyHeaders(payload, message, channel.token));
    case "email":
      return sendEmail(channel, message, { timeoutMs: options.timeoutMs });
  }
}

/** Slack's incoming-webhook JSON: `text` (the notification line, and the fallback) plus mrkdwn
 * blocks; `&`, `<`, `>` escaped as Slack's formatting docs require. */
export function slackBody(message: RenderedMessage) {
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return {
    text: `${message.title}: ${message.url}`,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `*${esc(message.title)}*` } },
      { type: "section", text: { type: "mrkdwn", text: esc(message.body).slice(0, 2900) } },
      { type: "section", text: { type: "mrkdwn", text: `<${message.url}|Open the run>` } },
    ],
  };
}

/** Discord's webhook JSON: `content` is at most 2000 characters; mentions in a model's answer
 * (`@everyone`) must not ping anyone, so `allowed_mentions` parses none. */
export function discordBody(message: RenderedMessage) {
  const tail = `\n${message.url}`;
  const head = `**${message.title}**\n${message.body}`;
  return { content: `${head.slice(0, 2000 - tail.length)}${tail}`, allowed_mentions: { parse: [] } };
}

function ntfyText(message: RenderedMessage): string {
  return message.body.slice(0, 4000);
}

/** ntfy's publish-by-headers: the title, tags as emoji, a click-through link, and for an approval
 * a "view" action button that opens the run's page. Header values must be Latin-1, so the title
 * drops the emoji (the tag shows one). */
function ntfyHeaders(payload: RunEventPayload, message: RenderedMessage, token: string | undefined) {
  const latin1 = (s: string) => s.replace(/[^\x20-\x7e\xa0-\xff]/g, "").trim();
  const tag = {
    "channel.test": "bell",
    "run.succeeded": "white_check_mark",
    "run.failed": "x",
    "run.waiting_approval": "hourglass",
  }[payload.type];
  return {
    "content-type": "text/plain; charset=utf-8",
    title: latin1(message.title),
    tags: tag,
    click: message.url,
    priority: payload.type === "run.failed" || payload.type === "run.waiting_approval" ? "high" : "default",
    ...(payload.type === "run.waiting_approval" ? { actions: `view, Approve or deny, ${message.url}` } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
}

async function post(url: string, body: string, options: SendOptions, headers: Record<string, string>) {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const doFetch = options.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      method: "POST",
      headers: { "user-agent": USER_AGENT, ...headers },
      body,
      // A redirect is not followed: the channel's URL is where a result may go, nowhere else.
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    return {
      ok: false,
      retry: true,
      response: "",
      error: describeFetchError(error, options.timeoutMs),
      durationMs: elapsed(),
    };
  }
  const response = await readSome(res);
  if (res.status >= 200 && res.status < 300)
    return { ok: true, retry: false, status: res.status, response, durationMs: elapsed() };
  // 408 and 429 are the receiver asking to come back later; every other 4xx will not change.
  const retry = res.status >= 500 || res.status === 408 || res.status === 429;
  const retryAfter = Number(res.headers.get("retry-after"));
  return {
    ok: false,
    retry,
    status: res.status,
    response,
    error:
      res.status >= 300 && res.status < 400
        ? `HTTP ${res.status}: redirects are not followed (to ${res.headers.get("location") ?? "?"})`
        : `HTTP ${res.status}`,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
    durationMs: elapsed(),
  } satisfies SendResult;
}

async function readSome(res: Response): Promise<string> {
  try {
    const text = await res.text();
    return text.slice(0, RESPONSE_CHARS);
  } catch {
    return "";
  }
}

function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError") return `timed out after ${timeoutMs} ms`;
  const cause = e.cause?.code ?? e.cause?.message;
  return `connection failed: ${cause ?? e.message ?? String(error)}`;
}
