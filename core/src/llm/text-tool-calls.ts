import { parseBlock, parseToolRequests, TOOL_REQUEST_OPEN } from "./tool-request.ts";
import type { ChatResponse, ToolCall, ToolSpec } from "./types.ts";

/**
 * Tool calls a model wrote as text because its server did not turn them into `tool_calls`:
 * - Hermes / Qwen2.5 / Qwen3: `<tool_call>{"name": …, "arguments": {…}}</tool_call>`;
 * - Qwen3-Coder (LM Studio and llama.cpp without its parser): `<tool_call><function=NAME>
 *   <parameter=KEY>VALUE</parameter></function></tool_call>`, the wrapper sometimes missing;
 * - LM Studio's generic `[TOOL_REQUEST]{…}[END_TOOL_REQUEST]` (tool-request.ts).
 * Only read when tools were offered and no native call came; the markup never reaches the answer.
 */
export const TOOL_CALL_OPEN = "<tool_call>";
export const TOOL_CALL_CLOSE = "</tool_call>";
export const FUNCTION_OPEN = "<function=";
export const FUNCTION_CLOSE = "</function>";

export interface ParsedTextCalls {
  text: string;
  toolCalls: ToolCall[];
  format?: NonNullable<ChatResponse["textToolCalls"]>;
}

export function parseTextToolCalls(content: string, tools: readonly ToolSpec[], idPrefix: string): ParsedTextCalls {
  if (content.includes(TOOL_REQUEST_OPEN)) {
    const parsed = parseToolRequests(content, idPrefix);
    return { ...parsed, format: "tool_request" };
  }
  if (!content.includes(TOOL_CALL_OPEN) && !content.includes(FUNCTION_OPEN)) return { text: content, toolCalls: [] };
  const toolCalls: ToolCall[] = [];
  let xml = false;
  const nextId = () => `${idPrefix}${toolCalls.length}`;
  // Wrapped calls first, then bare `<function=…>` blocks (Qwen3-Coder drops the wrapper at times).
  let text = replaceBlocks(content, TOOL_CALL_OPEN, TOOL_CALL_CLOSE, (body) => {
    if (body.trimStart().startsWith(FUNCTION_OPEN)) {
      xml = true;
      toolCalls.push(...parseFunctionBlocks(body, tools, nextId));
    } else toolCalls.push(parseBlock(body, nextId()));
  });
  if (text.includes(FUNCTION_OPEN)) {
    text = replaceBlocks(text, FUNCTION_OPEN, FUNCTION_CLOSE, (body) => {
      xml = true;
      toolCalls.push(...parseFunctionBlocks(`${FUNCTION_OPEN}${body}${FUNCTION_CLOSE}`, tools, nextId));
    });
  }
  if (toolCalls.length === 0) return { text: content, toolCalls: [] };
  return { text: text.trim(), toolCalls, format: xml ? "qwen_xml" : "hermes" };
}

/**
 * Text after the model's words that only starts a tool call (`<tool_call>\n<function=rea`): llama.cpp
 * with Qwen3-Coder leaks it into the content before the real, parsed call. Sent back as the model's
 * own turn it teaches the model to write half calls, so it is cut when real calls are present.
 */
export function dropTrailingCallMarkup(content: string): string {
  let cut = content.length;
  for (const marker of [TOOL_CALL_OPEN, FUNCTION_OPEN, TOOL_REQUEST_OPEN]) {
    const at = content.indexOf(marker);
    if (at >= 0 && at < cut) cut = at;
  }
  // A fragment of a marker at the very end (`<tool_` when the stream stopped mid-tag).
  if (cut === content.length) {
    for (const marker of [TOOL_CALL_OPEN, FUNCTION_OPEN]) {
      for (let n = marker.length - 1; n >= 2; n--) {
        if (content.endsWith(marker.slice(0, n))) {
          cut = Math.min(cut, content.length - n);
          break;
        }
      }
    }
  }
  return content.slice(0, cut).trimEnd();
}

/** Replaces each `open…close` block (an unclosed last block runs to the end) via `onBody`. */
function replaceBlocks(content: string, open: string, close: string, onBody: (body: string) => void): string {
  let out = "";
  let rest = content;
  for (;;) {
    const at = rest.indexOf(open);
    if (at < 0) return out + rest;
    out += rest.slice(0, at);
    const after = rest.slice(at + open.length);
    const end = after.indexOf(close);
    onBody(end < 0 ? after : after.slice(0, end));
    if (end < 0) return out;
    rest = after.slice(end + close.length);
  }
}

/** `<function=NAME><parameter=K>V</parameter>…</function>`, possibly several. */
function parseFunctionBlocks(body: string, tools: readonly ToolSpec[], nextId: () => string): ToolCall[] {
  const calls: ToolCall[] = [];
  const fn = /<function=([^>\n]+)>([\s\S]*?)(?:<\/function>|$)/g;
  for (let m = fn.exec(body); m; m = fn.exec(body)) {
    const name = m[1]!.trim();
    const schema = tools.find((t) => t.name === name)?.inputSchema;
    const args: Record<string, unknown> = {};
    const param = /<parameter=([^>\n]+)>([\s\S]*?)(?:<\/parameter>|(?=<parameter=)|$)/g;
    for (let p = param.exec(m[2]!); p; p = param.exec(m[2]!)) {
      const key = p[1]!.trim();
      args[key] = typedValue(stripOneNewline(p[2]!), propertyType(schema, key));
    }
    calls.push({ id: nextId(), name, arguments: JSON.stringify(args) });
    if (m[0].length === 0) break;
  }
  return calls;
}

/** The template puts each value on its own lines: `<parameter=k>\nvalue\n</parameter>`. */
function stripOneNewline(value: string): string {
  return value.replace(/^\r?\n/, "").replace(/\r?\n$/, "");
}

function propertyType(schema: Record<string, unknown> | undefined, key: string): string | undefined {
  const props = schema?.properties as Record<string, { type?: unknown }> | undefined;
  const type = props?.[key]?.type;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) return type.find((t): t is string => typeof t === "string" && t !== "null");
  return undefined;
}

/**
 * XML values are text; the tool's schema says what they were meant to be (as vLLM's and llama.cpp's
 * Qwen3-Coder parsers convert them). Without a schema, JSON-looking values are read as JSON.
 */
function typedValue(raw: string, type: string | undefined): unknown {
  const text = raw.trim();
  switch (type) {
    case "string":
      return raw;
    case "integer":
    case "number": {
      const n = Number(text);
      return text !== "" && Number.isFinite(n) ? n : raw;
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : raw;
    default:
      if (type === "object" || type === "array" || type === undefined) {
        try {
          return JSON.parse(text);
        } catch {
          return raw;
        }
      }
      return raw;
  }
}
