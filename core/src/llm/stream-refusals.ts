import type { LlmError } from "./errors.ts";

/**
 * Servers that refuse to stream a turn with tools (llama.cpp before mid-2025 answers HTTP 500
 * "Cannot use tools with stream"), remembered per server and model for the life of the process, so
 * only the first tool turn pays for the refused request. Clients are created per run; this outlives them.
 */
export class StreamRefusals {
  private readonly refused = new Set<string>();

  has(baseUrl: string, model: string): boolean {
    return this.refused.has(key(baseUrl, model));
  }

  add(baseUrl: string, model: string): void {
    this.refused.add(key(baseUrl, model));
  }
}

/** The process-wide memory `createLlmClient` uses unless given another. */
export const streamRefusals = new StreamRefusals();

const key = (baseUrl: string, model: string) => `${baseUrl.replace(/\/+$/, "")}\u0000${model}`;

/** Whether an error is a server saying it cannot stream tool calls (and a non-streamed turn would do). */
export function isStreamWithToolsRefusal(err: LlmError): boolean {
  if (err.status === undefined || err.status < 400) return false;
  return /\btools?\b[^.]{0,40}\bstream|\bstream(ing)?\b[^.]{0,40}\btools?\b/i.test(err.message);
}
