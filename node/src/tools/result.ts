import type { ToolResult } from "@fabricore/protocol";
import { z } from "zod";

/* Helpers that shape every built-in tool's answer the same way: a text block the model reads, and
 * `structuredContent` for programs (the run viewer, tests). `durationMs` is stamped by the dispatcher,
 * which times every call the same way whatever the provider. */

export function textResult(text: string, structuredContent?: Record<string, unknown>): ToolResult {
  return {
    content: [{ type: "text", text }],
    isError: false,
    durationMs: 0,
    ...(structuredContent && { structuredContent }),
  };
}

/** A structured result: its JSON is also the text, since many models read only text content. */
export function jsonResult(value: Record<string, unknown>, isError = false): ToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value, null, 2) }],
    structuredContent: value,
    isError,
    durationMs: 0,
  };
}

/** An expected failure, worded for the model: it reads this and decides what to do next. */
export function errorResult(message: string, structuredContent?: Record<string, unknown>): ToolResult {
  return {
    content: [{ type: "text", text: message }],
    isError: true,
    durationMs: 0,
    ...(structuredContent && { structuredContent }),
  };
}

/** Validates a tool's arguments; a bad call is an error result naming every problem, never a throw. */
export function parseArgs<S extends z.ZodType>(
  tool: string,
  schema: S,
  args: unknown,
): { ok: true; value: z.output<S> } | { ok: false; result: ToolResult } {
  const parsed = schema.safeParse(args);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    result: errorResult(`invalid arguments for ${tool}:\n${z.prettifyError(parsed.error)}`, {
      code: "invalid_arguments",
    }),
  };
}
