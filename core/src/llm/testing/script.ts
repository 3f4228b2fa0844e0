/**
 * The script both scripted servers follow. A test (or the e2e suite) says what "the model" does on
 * each request; the servers turn that into exactly the bytes LM Studio or Anthropic would send.
 */

export interface ScriptedToolCall {
  /** Defaults to a numeric id like LM Studio's (`"365174485"`). */
  id?: string;
  name: string;
  /** An object is sent as its JSON; a string is sent as-is (so tests can send broken JSON). */
  arguments?: Record<string, unknown> | string;
}

export interface TurnTiming {
  /** Wait before answering at all (e.g. a just-in-time model load). */
  delayMs?: number;
  /** Wait between streamed chunks. */
  chunkDelayMs?: number;
}

export type Turn = TurnTiming &
  (
    | {
        type: "text";
        text: string;
        /** Characters per streamed content chunk (default 8). */
        chunkSize?: number;
        finishReason?: "stop" | "length";
        usage?: { promptTokens: number; completionTokens: number };
      }
    | {
        type: "tool_calls";
        calls: ScriptedToolCall[];
        /** Text the model says before calling (streamed first). */
        text?: string;
        /** Characters per streamed arguments piece (default 5), so arguments arrive split. */
        argumentsChunkSize?: number;
        /** Interleave the calls' argument pieces instead of sending one call after the other. */
        interleave?: boolean;
        usage?: { promptTokens: number; completionTokens: number };
      }
    | {
        /** LM Studio's default tool format, left in the content as `[TOOL_REQUEST]{json}[END_TOOL_REQUEST]`. */
        type: "tool_request";
        calls: ScriptedToolCall[];
        text?: string;
        /** Raw content instead of generated blocks (for malformed requests). */
        raw?: string;
        chunkSize?: number;
      }
    | {
        /** An HTTP error, bodied the way the imitated server bodies it. */
        type: "error";
        status: number;
        message?: string;
        /** The exact body to send instead (another server's error shape). */
        body?: unknown;
      }
    | RawTurn
    | {
        /** Accept the request and never answer (or stop after some chunks), until the client gives up. */
        type: "hang";
        /** Text to stream before going silent. */
        text?: string;
      }
    | {
        /** Stream some text, then drop the connection without finishing. */
        type: "disconnect";
        text?: string;
      }
  );

/**
 * Exactly what one real server sends (built by server-dialects.ts from the vendors' documented and
 * captured shapes). Streamed: each event is a `delta` of choice 0 (with its finish reason, if any),
 * or a raw SSE line sent as is; then the usage chunk and `data: [DONE]`. Not streamed: `message`.
 */
export interface RawTurn {
  type: "raw";
  events: Array<{ delta: Record<string, unknown>; finishReason?: string } | { sse: string }>;
  message: Record<string, unknown>;
  finishReason: string;
  /** Sent as the completion's `usage` (reasoning tokens under `completion_tokens_details`). */
  usage?: { promptTokens: number; completionTokens: number; reasoningTokens?: number };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body, or undefined for GETs and unparseable bodies. */
  body: unknown;
  /** Set when the client closed the connection before the server finished answering. */
  aborted: boolean;
  /** Set once the server finished (or gave up on) this request. */
  finished: boolean;
}

/** A list of turns (taken in order) or a function of the request. */
export type Script = Turn[] | ((request: RecordedRequest, index: number) => Turn | Promise<Turn>);

export const turn = {
  text: (text: string, extra: Partial<Extract<Turn, { type: "text" }>> = {}): Turn => ({
    type: "text",
    text,
    ...extra,
  }),
  toolCalls: (calls: ScriptedToolCall[], extra: Partial<Extract<Turn, { type: "tool_calls" }>> = {}): Turn => ({
    type: "tool_calls",
    calls,
    ...extra,
  }),
  toolRequest: (calls: ScriptedToolCall[], extra: Partial<Extract<Turn, { type: "tool_request" }>> = {}): Turn => ({
    type: "tool_request",
    calls,
    ...extra,
  }),
  error: (status: number, message?: string): Turn => ({ type: "error", status, ...(message ? { message } : {}) }),
  hang: (text?: string): Turn => ({ type: "hang", ...(text ? { text } : {}) }),
  disconnect: (text?: string): Turn => ({ type: "disconnect", ...(text ? { text } : {}) }),
};

export function chunksOf(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += Math.max(1, size)) out.push(text.slice(i, i + Math.max(1, size)));
  return out;
}

export function argumentsText(call: ScriptedToolCall): string {
  return typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {});
}

/** Rough token count for usage figures: LM Studio reports real ones, tests only need plausible ones. */
export function roughTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
