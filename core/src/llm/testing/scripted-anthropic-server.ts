import type { ServerResponse } from "node:http";
import type { Message, RawMessageStreamEvent, Usage } from "@anthropic-ai/sdk/resources/messages";
import type { ModelInfo as AnthropicModelInfo } from "@anthropic-ai/sdk/resources/models";
import { type ScriptedServer, sendJson, startHarness, untilClosed } from "./http-harness.ts";
import { argumentsText, chunksOf, roughTokens, type Script, sleep, type Turn } from "./script.ts";

export interface ScriptedAnthropicServerOptions {
  script: Script;
  /** Known models; a request for another gets the API's 404 `not_found_error`. */
  models?: string[];
  /** Require this key, as `x-api-key` or (what @anthropic-ai/sdk 1.x sends) `Authorization: Bearer`. */
  apiKey?: string;
}

/** A stand-in for Anthropic's Messages API (`POST /v1/messages`, streaming and not, `GET /v1/models`),
 * driven by the same scripts as the LM Studio stand-in. */
export async function startScriptedAnthropicServer(options: ScriptedAnthropicServerOptions): Promise<ScriptedServer> {
  const models = options.models ?? ["claude-sonnet-4-6"];
  return startHarness({
    script: options.script,
    isChat: (path) => path === "/v1/messages",
    handle: async (req, res, record, nextTurn, closed) => {
      const presented = req.headers["x-api-key"] ?? req.headers.authorization?.replace(/^Bearer /, "");
      if (options.apiKey && presented !== options.apiKey) {
        return sendError(res, 401, "authentication_error", "invalid x-api-key");
      }
      const route = `${record.method} ${record.path}`;
      if (route === "GET /v1/models") {
        const data: AnthropicModelInfo[] = models.map((id) => ({
          type: "model",
          id,
          display_name: id,
          created_at: "2025-09-29T00:00:00Z",
          capabilities: null,
          deprecated_at: null,
          lifecycle: "active",
          line: null,
          max_input_tokens: 200_000,
          max_tokens: 64_000,
          retires_at: null,
        }));
        return sendJson(res, 200, {
          data,
          has_more: false,
          first_id: data[0]?.id ?? null,
          last_id: data.at(-1)?.id ?? null,
        });
      }
      if (route !== "POST /v1/messages") return sendError(res, 404, "not_found_error", `Not found: ${route}`);
      const body = (record.body ?? {}) as { model?: string; stream?: boolean };
      if (!models.includes(body.model ?? "")) return sendError(res, 404, "not_found_error", `model: ${body.model}`);
      const t = await nextTurn();
      if (t.delayMs) await sleep(t.delayMs);
      if (closed.aborted) return;
      const inputTokens = roughTokens(JSON.stringify(record.body));
      if (t.type === "error") return sendError(res, t.status, errorType(t.status), t.message ?? `scripted ${t.status}`);
      if (body.stream) return streamTurn(res, t, body.model!, inputTokens, closed);
      if (t.type === "hang") return untilClosed(closed);
      if (t.type === "disconnect") return void res.destroy();
      const message = baseMessage(body.model!, inputTokens);
      const { blocks, stop } = contentOf(t);
      message.content = blocks.map((b) =>
        b.kind === "text"
          ? { type: "text" as const, text: b.text, citations: null }
          : {
              type: "tool_use" as const,
              id: b.id,
              name: b.name,
              input: JSON.parse(b.json || "{}"),
              caller: { type: "direct" as const },
            },
      );
      message.stop_reason = stop;
      message.usage.output_tokens = roughTokens(JSON.stringify(message.content));
      return sendJson(res, 200, message);
    },
  });
}

function errorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    case 529:
      return "overloaded_error";
    default:
      return "api_error";
  }
}

function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { type: "error", error: { type, message } });
}

function usage(input: number, output: number): Usage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation: null,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: "standard",
    speed: null,
  };
}

function baseMessage(model: string, inputTokens: number): Message {
  return {
    id: `msg_${Math.random().toString(36).slice(2, 26)}`,
    type: "message",
    role: "assistant",
    model,
    content: [],
    container: null,
    diagnostics: null,
    stop_details: null,
    stop_reason: null,
    stop_sequence: null,
    usage: usage(inputTokens, 1),
  };
}

type Block = { kind: "text"; text: string } | { kind: "tool"; id: string; name: string; json: string };

let toolCounter = 1;

function contentOf(t: Exclude<Turn, { type: "error" }>): {
  blocks: Block[];
  stop: "end_turn" | "tool_use" | "max_tokens";
} {
  switch (t.type) {
    case "text":
      return {
        blocks: [{ kind: "text", text: t.text }],
        stop: t.finishReason === "length" ? "max_tokens" : "end_turn",
      };
    case "tool_calls":
      return {
        blocks: [
          ...(t.text ? [{ kind: "text" as const, text: t.text }] : []),
          ...t.calls.map((c) => ({
            kind: "tool" as const,
            id: c.id ?? `toolu_${String(toolCounter++).padStart(6, "0")}`,
            name: c.name,
            json: argumentsText(c),
          })),
        ],
        stop: "tool_use",
      };
    case "tool_request":
      // Not an Anthropic behaviour; the text is passed through so a script can still use it.
      return { blocks: [{ kind: "text", text: t.raw ?? t.text ?? "" }], stop: "end_turn" };
    case "hang":
    case "disconnect":
      return { blocks: t.text ? [{ kind: "text", text: t.text }] : [], stop: "end_turn" };
    case "raw":
      // Raw turns are Chat Completions chunks; only their plain text has a Messages API meaning.
      return {
        blocks: [{ kind: "text", text: typeof t.message.content === "string" ? t.message.content : "" }],
        stop: "end_turn",
      };
  }
}

async function streamTurn(
  res: ServerResponse,
  t: Exclude<Turn, { type: "error" }>,
  model: string,
  inputTokens: number,
  closed: AbortSignal,
): Promise<void> {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const send = async (event: RawMessageStreamEvent | { type: "ping" }) => {
    if (closed.aborted) return;
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    if (t.chunkDelayMs) await sleep(t.chunkDelayMs);
  };
  await send({ type: "message_start", message: baseMessage(model, inputTokens) });
  await send({ type: "ping" });
  const { blocks, stop } = contentOf(t);
  let output = 0;
  for (const [index, block] of blocks.entries()) {
    if (block.kind === "text") {
      await send({ type: "content_block_start", index, content_block: { type: "text", text: "", citations: null } });
      for (const piece of chunksOf(block.text, t.type === "text" ? (t.chunkSize ?? 8) : 8)) {
        await send({ type: "content_block_delta", index, delta: { type: "text_delta", text: piece } });
      }
      output += roughTokens(block.text);
    } else {
      await send({
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {}, caller: { type: "direct" } },
      });
      const size = t.type === "tool_calls" ? (t.argumentsChunkSize ?? 5) : 5;
      for (const piece of chunksOf(block.json, size)) {
        await send({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } });
      }
      output += roughTokens(block.json);
    }
    if (t.type === "hang") return untilClosed(closed);
    if (t.type === "disconnect") return void res.destroy();
    await send({ type: "content_block_stop", index });
  }
  if (t.type === "hang") return untilClosed(closed);
  if (t.type === "disconnect") return void res.destroy();
  await send({
    type: "message_delta",
    delta: { stop_reason: stop, stop_sequence: null, container: null, stop_details: null },
    usage: {
      output_tokens: output,
      input_tokens: inputTokens,
      cache_creation_input_tokens: null,
      cache_read_input_tokens: null,
      output_tokens_details: null,
      server_tool_use: null,
    },
  });
  await send({ type: "message_stop" });
  if (!closed.aborted) res.end();
}
