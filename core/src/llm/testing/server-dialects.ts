/**
 * Turns in the exact shapes real servers send, for the scripted server (`RawTurn`). Each builder
 * names the server and what is peculiar about it; the shapes follow the vendors' API references and
 * the captures listed in docs/LOCAL-MODELS.md. Tests and e2e suites compose them into scripts.
 */
import { argumentsText, chunksOf, type RawTurn, roughTokens, type ScriptedToolCall } from "./script.ts";

type Events = RawTurn["events"];

const pieces = (text: string, size = 6) => chunksOf(text, size);

/** Native streamed tool calls: id, type and name first, then the arguments in pieces. */
function toolCallEvents(calls: ScriptedToolCall[], idPrefix: string): Events {
  const events: Events = [];
  calls.forEach((c, index) => {
    const id = c.id ?? `${idPrefix}${index}`;
    events.push({
      delta: { tool_calls: [{ index, id, type: "function", function: { name: c.name, arguments: "" } }] },
    });
    for (const p of pieces(argumentsText(c), 7))
      events.push({ delta: { tool_calls: [{ index, function: { arguments: p } }] } });
  });
  return events;
}

function wholeCalls(calls: ScriptedToolCall[], idPrefix: string) {
  return calls.map((c, index) => ({
    id: c.id ?? `${idPrefix}${index}`,
    type: "function",
    function: { name: c.name, arguments: argumentsText(c) },
  }));
}

export interface ReasonedTurn {
  reasoning: string;
  text?: string;
  calls?: ScriptedToolCall[];
  reasoningTokens?: number;
}

/**
 * DeepSeek (deepseek-reasoner, V3.x thinking mode), and the same field from LM Studio with
 * "separate reasoning_content", vLLM and SGLang reasoning parsers, Qwen on DashScope, GLM:
 * `reasoning_content` deltas with `content: null`, then content deltas with `reasoning_content: null`.
 */
export function reasoningContentTurn(t: ReasonedTurn): RawTurn {
  return reasoningFieldTurn("reasoning_content", t, "call_00_");
}

/** gpt-oss behind LM Studio 0.3.23+, Ollama's OpenAI API, OpenRouter and xAI: a `reasoning` field. */
export function reasoningTurn(t: ReasonedTurn): RawTurn {
  return reasoningFieldTurn("reasoning", t, "call_");
}

function reasoningFieldTurn(field: "reasoning_content" | "reasoning", t: ReasonedTurn, idPrefix: string): RawTurn {
  const other = field === "reasoning_content" ? { content: null } : {};
  const events: Events = [{ delta: { role: "assistant", content: null, [field]: "" } }];
  for (const p of pieces(t.reasoning)) events.push({ delta: { ...other, [field]: p } });
  for (const p of pieces(t.text ?? ""))
    events.push({ delta: { content: p, ...(field === "reasoning_content" ? { [field]: null } : {}) } });
  if (t.calls?.length) events.push(...toolCallEvents(t.calls, idPrefix));
  const finishReason = t.calls?.length ? "tool_calls" : "stop";
  events.push({ delta: {}, finishReason });
  return {
    type: "raw",
    events,
    message: {
      role: "assistant",
      content: t.text ?? null,
      [field]: t.reasoning,
      ...(t.calls?.length ? { tool_calls: wholeCalls(t.calls, idPrefix) } : {}),
    },
    finishReason,
    usage: { promptTokens: 120, completionTokens: 80, reasoningTokens: t.reasoningTokens ?? 50 },
  };
}

/**
 * `<think>…</think>` in the content: DeepSeek-R1 distills and Qwen3 on llama.cpp without
 * `--reasoning-format`, older LM Studio. `openedInPrompt`: the R1 template puts `<think>` in the
 * prompt, so the content starts inside the block and only the closing tag arrives.
 */
export function thinkTagsTurn(t: ReasonedTurn & { openedInPrompt?: boolean }): RawTurn {
  const content = `${t.openedInPrompt ? "" : "<think>"}\n${t.reasoning}\n</think>\n\n${t.text ?? ""}`;
  return contentTurn(content, t.calls, "stop");
}

/**
 * Mistral's reasoning models (Magistral, `prompt_mode: "reasoning"`): `delta.content` is an ARRAY of
 * parts — `{type: "thinking", thinking: [{type: "text", text}]}` first, then `{type: "text", text}`.
 */
export function mistralThinkingTurn(t: ReasonedTurn): RawTurn {
  const events: Events = [{ delta: { role: "assistant", content: "" } }];
  for (const p of pieces(t.reasoning, 10))
    events.push({ delta: { content: [{ type: "thinking", thinking: [{ type: "text", text: p }] }] } });
  for (const p of pieces(t.text ?? "", 10)) events.push({ delta: { content: [{ type: "text", text: p }] } });
  if (t.calls?.length)
    events.push(
      ...toolCallEvents(
        t.calls.map((c, i) => ({ id: `Mx${i}aB3dE`, ...c })),
        "M",
      ),
    );
  const finishReason = t.calls?.length ? "tool_calls" : "stop";
  events.push({ delta: { content: "" }, finishReason });
  return {
    type: "raw",
    events,
    message: {
      role: "assistant",
      content: [
        { type: "thinking", thinking: [{ type: "text", text: t.reasoning }] },
        ...(t.text ? [{ type: "text", text: t.text }] : []),
      ],
      ...(t.calls?.length ? { tool_calls: wholeCalls(t.calls, "Mx") } : {}),
    },
    finishReason,
  };
}

/** Qwen3-Coder in LM Studio: the call written as XML in the content, finish reason `stop`. */
export function qwenCoderXmlTurn(calls: ScriptedToolCall[], text = ""): RawTurn {
  const blocks = calls.map((c) => {
    const args = typeof c.arguments === "string" ? JSON.parse(c.arguments) : (c.arguments ?? {});
    const params = Object.entries(args as Record<string, unknown>)
      .map(([k, v]) => `<parameter=${k}>\n${typeof v === "string" ? v : JSON.stringify(v)}\n</parameter>\n`)
      .join("");
    return `<tool_call>\n<function=${c.name}>\n${params}</function>\n</tool_call>`;
  });
  return contentTurn(`${text ? `${text}\n\n` : ""}${blocks.join("\n")}`, undefined, "stop");
}

/** Hermes-style models (Qwen2.5/Qwen3, NousHermes) on a server without a tool parser. */
export function hermesToolCallTurn(calls: ScriptedToolCall[], text = ""): RawTurn {
  const blocks = calls.map(
    (c) =>
      `<tool_call>\n${JSON.stringify({ name: c.name, arguments: typeof c.arguments === "string" ? JSON.parse(c.arguments) : (c.arguments ?? {}) })}\n</tool_call>`,
  );
  return contentTurn(`${text ? `${text}\n\n` : ""}${blocks.join("\n")}`, undefined, "stop");
}

/** LM Studio #830: a finished answer, then a tool call with no id, no name and no arguments. */
export function phantomCallTurn(text: string): RawTurn {
  const events: Events = pieces(text).map((p, i) => ({
    delta: i === 0 ? { role: "assistant", content: p } : { content: p },
  }));
  events.push({ delta: { tool_calls: [{ index: 0, type: "function", function: { name: "", arguments: "" } }] } });
  events.push({ delta: {}, finishReason: "tool_calls" });
  return {
    type: "raw",
    events,
    message: {
      role: "assistant",
      content: text,
      tool_calls: [{ id: "", type: "function", function: { name: "", arguments: "" } }],
    },
    finishReason: "tool_calls",
  };
}

/**
 * llama.cpp failing inside a started stream: the SSE field `error:` (not `data:`), then `[DONE]`.
 * The default is its context overflow (`exceed_context_size_error`).
 */
export function llamaCppStreamErrorTurn(
  error: Record<string, unknown> = {
    code: 400,
    message: "the request exceeds the available context size, try increasing it",
    type: "exceed_context_size_error",
    n_prompt_tokens: 5012,
    n_ctx: 4096,
  },
): RawTurn {
  return {
    type: "raw",
    events: [{ sse: `error: ${JSON.stringify(error)}` }],
    message: { role: "assistant", content: "" },
    finishReason: "stop",
  };
}

/** llama.cpp with Qwen3-Coder: a half-written `<tool_call>\n<function=…` leaks into the content
 * before the call its parser did recognise. */
export function leakedCallFragmentTurn(calls: ScriptedToolCall[], text = ""): RawTurn {
  const fragment = `${text}<tool_call>\n<function=${calls[0]?.name ?? "x"}`;
  const events: Events = pieces(fragment).map((p) => ({ delta: { content: p } }));
  events.push(...toolCallEvents(calls, "llcpp_"));
  events.push({ delta: {}, finishReason: "tool_calls" });
  return {
    type: "raw",
    events,
    message: { role: "assistant", content: fragment, tool_calls: wholeCalls(calls, "llcpp_") },
    finishReason: "tool_calls",
  };
}

function contentTurn(content: string, calls: ScriptedToolCall[] | undefined, finishReason: string): RawTurn {
  const events: Events = pieces(content).map((p, i) => ({
    delta: i === 0 ? { role: "assistant", content: p } : { content: p },
  }));
  if (calls?.length) events.push(...toolCallEvents(calls, "call_"));
  const finish = calls?.length ? "tool_calls" : finishReason;
  events.push({ delta: {}, finishReason: finish });
  return {
    type: "raw",
    events,
    message: { role: "assistant", content, ...(calls?.length ? { tool_calls: wholeCalls(calls, "call_") } : {}) },
    finishReason: finish,
    // llama.cpp, Ollama and LM Studio count the whole content, markup and reasoning included.
    usage: { promptTokens: 120, completionTokens: roughTokens(content) },
  };
}
