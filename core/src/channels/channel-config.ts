import { z } from "zod";
import type { ChannelKind, NewChannel } from "../database/types.ts";

/**
 * What each channel kind needs (CONTRACT "Results that reach people"), and which of it is secret.
 * A Slack or Discord incoming-webhook URL *is* the credential (anyone holding it may post), so it
 * is sealed like a token; GET shows only its host.
 */

/** http(s) only: a `file:`, `gopher:` or `javascript:` URL is refused at save time. */
const url = z
  .string()
  .max(2048)
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "http:" || u.protocol === "https:") && u.hostname !== "";
    } catch {
      return false;
    }
  }, "must be an http(s):// URL");
const email = z.email().max(320);

export const WebhookConfig = z.strictObject({
  url,
  /** Standard Webhooks signing secret, `whsec_<base64>` (any other string is used as UTF-8 bytes). */
  secret: z.string().min(8).max(1024).optional(),
});
export const SlackConfig = z.strictObject({ url });
export const DiscordConfig = z.strictObject({ url });
export const NtfyConfig = z.strictObject({
  /** The topic URL, e.g. https://ntfy.sh/my-topic. */
  url,
  /** An ntfy access token (`tk_…`), sent as a Bearer token. */
  token: z.string().min(1).max(1024).optional(),
});
export const EmailConfig = z.strictObject({
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://user:pass@host:465. */
  smtpUrl: z
    .string()
    .max(2048)
    .refine((v) => /^smtps?:\/\/[^/]+/.test(v) && URL.canParse(v), "must be smtp://… or smtps://…"),
  from: email,
  to: z.union([email, z.array(email).min(1).max(50)]),
});

export const ChannelBody = z.discriminatedUnion("kind", [
  z.strictObject({ name: channelName(), kind: z.literal("webhook"), config: WebhookConfig }),
  z.strictObject({ name: channelName(), kind: z.literal("slack"), config: SlackConfig }),
  z.strictObject({ name: channelName(), kind: z.literal("discord"), config: DiscordConfig }),
  z.strictObject({ name: channelName(), kind: z.literal("ntfy"), config: NtfyConfig }),
  z.strictObject({ name: channelName(), kind: z.literal("email"), config: EmailConfig }),
]);
export type ChannelBody = z.infer<typeof ChannelBody>;

function channelName() {
  return z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,99}$/, "letters, digits, space, _ . - (max 100)");
}

/** A channel's whole config, public and secret parts together, as the senders use it. */
export type ChannelConfig =
  | { kind: "webhook"; url: string; secret?: string | undefined }
  | { kind: "slack"; url: string }
  | { kind: "discord"; url: string }
  | { kind: "ntfy"; url: string; token?: string | undefined }
  | { kind: "email"; smtpUrl: string; from: string; to: string | string[] };

/** Splits a validated body into what is stored in clear and what is sealed. */
export function splitConfig(body: ChannelBody): NewChannel {
  const { name, kind } = body;
  switch (body.kind) {
    case "webhook": {
      const { secret, ...rest } = body.config;
      return { name, kind, config: rest, secret: secret === undefined ? {} : { secret } };
    }
    case "slack":
    case "discord":
      return { name, kind, config: { host: new URL(body.config.url).host }, secret: { url: body.config.url } };
    case "ntfy": {
      const { token, ...rest } = body.config;
      return { name, kind, config: rest, secret: token === undefined ? {} : { token } };
    }
    case "email": {
      const smtp = new URL(body.config.smtpUrl);
      return {
        name,
        kind,
        config: { from: body.config.from, to: body.config.to, smtpHost: smtp.host, tls: smtp.protocol === "smtps:" },
        secret: { smtpUrl: body.config.smtpUrl },
      };
    }
  }
}

/** The sender's view of a stored channel: its public config and its opened secret, re-joined. */
export function joinConfig(
  kind: ChannelKind,
  config: Record<string, unknown>,
  secret: Record<string, string>,
): ChannelConfig {
  const text = (v: unknown): string => (typeof v === "string" ? v : "");
  switch (kind) {
    case "webhook":
      return { kind, url: text(config.url), secret: secret.secret };
    case "slack":
    case "discord":
      return { kind, url: text(secret.url) };
    case "ntfy":
      return { kind, url: text(config.url), token: secret.token };
    case "email":
      return {
        kind,
        smtpUrl: text(secret.smtpUrl),
        from: text(config.from),
        to: Array.isArray(config.to) ? config.to.map(text) : text(config.to),
      };
  }
}
