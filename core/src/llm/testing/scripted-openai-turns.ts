import type { ServerResponse } from "node:http";
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import { sendJson, untilClosed } from "./http-harness.ts";
import {
  argumentsText,
  chunksOf,
  type RecordedRequest,
  roughTokens,
  type ScriptedToolCall,
  sleep,
  type Turn,
} from "./script.ts";

/* One scripted turn as the OpenAI chat completions API answers it: streamed (SSE chunks) or whole. */

/** LM Studio bodies most failures as `{"error": "<text>"}` (a string, not OpenAI's object). */
function errorBody(t: Extract<Turn, { type: "error" }>): unknown {
  if (t.body !== undefined) return t.body;
  return {
    error: t.message ?? (t.status >= 500 ? "Internal server error" : `<LM Studio error> request failed (${t.status})`),
  };
}

let idCounter = 365174485;
const toolCallId = (call: ScriptedToolCall) => call.id ?? String(idCounter++);

function toolRequestContent(t: Extract<Turn, { type: "tool_request" }>): string {
  if (t.raw !== undefined) return t.raw;
  const blocks = t.calls.map(
    (c) =>
      `[TOOL_REQUEST]${JSON.stringify({ name: c.name, arguments: typeof c.arguments === "string" ? c.arguments : (c.arguments ?? {}) })}[END_TOOL_REQUEST]`,
  );
  return (t.text ? `${t.text}\n` : "") + blocks.join("\n");
}

export async function streamTurn(
  res: ServerResponse,
  t: Turn,
  model: string,
  includeUsage: boolean,
  record: RecordedRequest,
  closed: AbortSignal,
): Promise<void> {
  if (t.type === "error") return sendJson(res, t.status, errorBody(t));
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const id = `chatcmpl-${Math.random().toString(36).slice(2, 23)}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: ChatCompletionChunk.Choice.Delta,
    finish: ChatCompletionChunk.Choice["finish_reason"] = null,
  ): ChatCompletionChunk => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    system_fingerprint: model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  const send = async (c: ChatCompletionChunk) => {
    if (closed.aborted) return;
    res.write(`data: ${JSON.stringify(c)}\n\n`);
    if (t.chunkDelayMs) await sleep(t.chunkDelayMs);
  };
  const sendText = async (text: string, size: number) => {
    let first = true;
    for (const piece of chunksOf(text, size)) {
      await send(chunk(first ? { role: "assistant", content: piece } : { content: piece }));
      first = false;
    }
  };
  const promptTokens = roughTokens(JSON.stringify(record.body ?? ""));
  let completionText = "";
  let finish: ChatCompletionChunk.Choice["finish_reason"] = "stop";
  let usage: { promptTokens: number; completionTokens: number } | undefined;

  switch (t.type) {
    case "raw": {
      for (const event of t.events) {
        if ("sse" in event) {
          if (!closed.aborted) res.write(`${event.sse}\n\n`);
        } else
          await send(chunk(event.delta as ChatCompletionChunk.Choice.Delta, (event.finishReason ?? null) as never));
      }
      if (includeUsage && t.usage) {
        await send({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          system_fingerprint: model,
          choices: [],
          usage: usageOf(t.usage),
        });
      }
      if (!closed.aborted) res.end("data: [DONE]\n\n");
      return;
    }
    case "hang":
      if (t.text) await sendText(t.text, 8);
      return untilClosed(closed);
    case "disconnect":
      if (t.text) await sendText(t.text, 8);
      res.destroy();
      return;
    case "text":
      await sendText(t.text, t.chunkSize ?? 8);
      completionText = t.text;
      finish = t.finishReason ?? "stop";
      usage = t.usage;
      break;
    case "tool_request": {
      const content = toolRequestContent(t);
      await sendText(content, t.chunkSize ?? 8);
      completionText = content;
      break;
    }
    case "tool_calls": {
      if (t.text) await sendText(t.text, 8);
      const size = t.argumentsChunkSize ?? 5;
      const calls = t.calls.map((c, index) => ({
        index,
        id: toolCallId(c),
        name: c.name,
        pieces: chunksOf(argumentsText(c), size),
      }));
      // Each call opens with its id and name and empty arguments, as LM Studio streams them.
      const opening = (c: (typeof calls)[number]) =>
        chunk({
          tool_calls: [{ index: c.index, id: c.id, type: "function", function: { name: c.name, arguments: "" } }],
        });
      const piece = (c: (typeof calls)[number], p: string) =>
        chunk({ tool_calls: [{ index: c.index, function: { arguments: p } }] });
      if (t.interleave) {
        for (const c of calls) await send(opening(c));
        const longest = Math.max(0, ...calls.map((c) => c.pieces.length));
        for (let i = 0; i < longest; i++)
          for (const c of calls) if (c.pieces[i] !== undefined) await send(piece(c, c.pieces[i]!));
      } else {
        for (const c of calls) {
          await send(opening(c));
          for (const p of c.pieces) await send(piece(c, p));
        }
      }
      completionText = calls.map((c) => c.name + c.pieces.join("")).join("");
      finish = "tool_calls";
      usage = t.usage;
      break;
    }
  }
  await send(chunk({}, finish));
  if (includeUsage) {
    const u = usage ?? { promptTokens, completionTokens: roughTokens(completionText) };
    await send({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      system_fingerprint: model,
      choices: [],
      usage: {
        prompt_tokens: u.promptTokens,
        completion_tokens: u.completionTokens,
        total_tokens: u.promptTokens + u.completionTokens,
      },
    });
  }
  if (!closed.aborted) res.end("data: [DONE]\n\n");
}

export async function wholeTurn(res: ServerResponse, t: Turn, model: string, closed: AbortSignal): Promise<void> {
  if (t.type === "error") return sendJson(res, t.status, errorBody(t));
  if (t.type === "hang") return untilClosed(closed);
  if (t.type === "disconnect") {
    res.destroy();
    return;
  }
  if (t.type === "raw") {
    return sendJson(res, 200, {
      id: `chatcmpl-${Math.random().toString(36).slice(2, 23)}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [{ index: 0, logprobs: null, finish_reason: t.finishReason, message: t.message }],
      usage: usageOf(t.usage ?? { promptTokens: 100, completionTokens: 20 }),
      system_fingerprint: model,
    });
  }
  let message: ChatCompletion.Choice["message"];
  let finish: ChatCompletion.Choice["finish_reason"] = "stop";
  let usage = t.type === "text" || t.type === "tool_calls" ? t.usage : undefined;
  let completionText = "";
  if (t.type === "text") {
    message = { role: "assistant", content: t.text, refusal: null };
    finish = t.finishReason ?? "stop";
    completionText = t.text;
  } else if (t.type === "tool_request") {
    completionText = toolRequestContent(t);
    message = { role: "assistant", content: completionText, refusal: null };
  } else {
    message = {
      role: "assistant",
      content: t.text ?? null,
      refusal: null,
      tool_calls: t.calls.map((c) => ({
        id: toolCallId(c),
        type: "function",
        function: { name: c.name, arguments: argumentsText(c) },
      })),
    };
    completionText = t.calls.map((c) => c.name + argumentsText(c)).join("");
    finish = "tool_calls";
  }
  usage ??= { promptTokens: 100, completionTokens: roughTokens(completionText) };
  const completion: ChatCompletion = {
    id: `chatcmpl-${Math.random().toString(36).slice(2, 23)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, logprobs: null, finish_reason: finish, message }],
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
    system_fingerprint: model,
  };
  sendJson(res, 200, completion);
}

function usageOf(u: { promptTokens: number; completionTokens: number; reasoningTokens?: number }) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    ...(u.reasoningTokens !== undefined ? { completion_tokens_details: { reasoning_tokens: u.reasoningTokens } } : {}),
  };
}
