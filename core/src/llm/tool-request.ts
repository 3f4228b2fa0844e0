import type { ToolCall } from "./types.ts";

/**
 * LM Studio's "default" tool use: for models without a native tool-call format it tells the model to
 * answer `[TOOL_REQUEST]{"name": ..., "arguments": {...}}[END_TOOL_REQUEST]`. LM Studio usually turns
 * that into `tool_calls` itself, but when the model's output is slightly off (or an older LM Studio
 * is in between) the blocks arrive as plain content, and are parsed here.
 */
export const TOOL_REQUEST_OPEN = "[TOOL_REQUEST]";
export const TOOL_REQUEST_CLOSE = "[END_TOOL_REQUEST]";

export interface ParsedToolRequests {
  /** The content with every block removed. */
  text: string;
  toolCalls: ToolCall[];
}

export function parseToolRequests(content: string, idPrefix: string): ParsedToolRequests {
  if (!content.includes(TOOL_REQUEST_OPEN)) return { text: content, toolCalls: [] };
  const toolCalls: ToolCall[] = [];
  let text = "";
  let rest = content;
  for (;;) {
    const open = rest.indexOf(TOOL_REQUEST_OPEN);
    if (open < 0) {
      text += rest;
      break;
    }
    text += rest.slice(0, open);
    const afterOpen = rest.slice(open + TOOL_REQUEST_OPEN.length);
    const close = afterOpen.indexOf(TOOL_REQUEST_CLOSE);
    // A model that stops right after the JSON (max tokens, or a stop string eating the closer)
    // still meant the call: take the rest of the content as the block.
    const body = close < 0 ? afterOpen : afterOpen.slice(0, close);
    toolCalls.push(parseBlock(body, `${idPrefix}${toolCalls.length}`));
    if (close < 0) break;
    rest = afterOpen.slice(close + TOOL_REQUEST_CLOSE.length);
  }
  return { text: text.trim(), toolCalls };
}

/** One `{"name", "arguments"}` object (the body of a `[TOOL_REQUEST]` or a Hermes `<tool_call>`). */
export function parseBlock(body: string, id: string): ToolCall {
  const raw = body.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {
      id,
      name: /"name"\s*:\s*"([^"]+)"/.exec(raw)?.[1] ?? "",
      arguments: raw,
      parseError: `could not parse the tool request as JSON: ${raw.slice(0, 200)}`,
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { id, name: "", arguments: raw, parseError: "a tool request must be a JSON object with name and arguments" };
  }
  const { name, arguments: args } = parsed as { name?: unknown; arguments?: unknown };
  if (typeof name !== "string" || name === "") {
    return { id, name: "", arguments: raw, parseError: 'the tool request has no "name"' };
  }
  // Arguments are an object by the format, but models also send them as a JSON string.
  const argumentsText = args === undefined ? "{}" : typeof args === "string" ? args : JSON.stringify(args);
  return { id, name, arguments: argumentsText };
}

/**
 * Keeps `[TOOL_REQUEST]` blocks out of streamed text, so the run's live view shows what the model
 * said rather than its raw tool syntax. Holds back a tail that could be the start of the marker.
 */
export class ToolRequestTextFilter {
  private buffer = "";
  private inside = false;
  private readonly emit: (text: string) => void;

  constructor(emit: (text: string) => void) {
    this.emit = emit;
  }

  push(delta: string): void {
    this.buffer += delta;
    for (;;) {
      if (this.inside) {
        const close = this.buffer.indexOf(TOOL_REQUEST_CLOSE);
        if (close < 0) {
          this.buffer = this.buffer.slice(Math.max(0, this.buffer.length - TOOL_REQUEST_CLOSE.length));
          return;
        }
        this.buffer = this.buffer.slice(close + TOOL_REQUEST_CLOSE.length);
        this.inside = false;
        continue;
      }
      const open = this.buffer.indexOf(TOOL_REQUEST_OPEN);
      if (open >= 0) {
        if (open > 0) this.emit(this.buffer.slice(0, open));
        this.buffer = this.buffer.slice(open + TOOL_REQUEST_OPEN.length);
        this.inside = true;
        continue;
      }
      const keep = partialPrefixLength(this.buffer, TOOL_REQUEST_OPEN);
      const ready = this.buffer.slice(0, this.buffer.length - keep);
      if (ready) this.emit(ready);
      this.buffer = this.buffer.slice(this.buffer.length - keep);
      return;
    }
  }

  end(): void {
    if (!this.inside && this.buffer) this.emit(this.buffer);
    this.buffer = "";
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `marker`. */
function partialPrefixLength(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (text.endsWith(marker.slice(0, n))) return n;
  }
  return 0;
}
