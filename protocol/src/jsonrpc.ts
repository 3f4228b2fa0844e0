import { z } from "zod";
import { WireError } from "./errors.ts";
import { lazySchema } from "./lazy-schema.ts";

export const RequestId = lazySchema(() => z.union([z.string().max(128), z.number().int()]));
export type RequestId = z.infer<typeof RequestId>;

// Built at load: a wrapper (optional) stays eager (lazy-schema.ts says why).
const Params = z.record(z.string(), z.unknown()).optional();

export const JsonRpcRequest = lazySchema(() =>
  z.object({
    jsonrpc: z.literal("2.0"),
    id: RequestId,
    method: z.string().min(1).max(128),
    params: Params,
  }),
);
export const JsonRpcNotification = lazySchema(() =>
  z.object({
    jsonrpc: z.literal("2.0"),
    method: z.string().min(1).max(128),
    params: Params,
  }),
);
export const JsonRpcSuccess = lazySchema(() =>
  z.object({ jsonrpc: z.literal("2.0"), id: RequestId, result: z.unknown() }),
);
export const JsonRpcFailure = lazySchema(() =>
  z.object({
    jsonrpc: z.literal("2.0"),
    id: RequestId.nullable(),
    error: WireError,
  }),
);

export type JsonRpcRequest = z.infer<typeof JsonRpcRequest>;
export type JsonRpcNotification = z.infer<typeof JsonRpcNotification>;
export type JsonRpcSuccess = z.infer<typeof JsonRpcSuccess>;
export type JsonRpcFailure = z.infer<typeof JsonRpcFailure>;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcSuccess | JsonRpcFailure;

/** Validates one decoded frame as a JSON-RPC 2.0 message. Order matters: a request has both id and
 * method, a notification only method, a response only id. */
export function parseJsonRpcMessage(
  value: unknown,
): { ok: true; message: JsonRpcMessage } | { ok: false; error: string } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, error: "a message must be a JSON object (batches are not used)" };
  }
  const v = value as Record<string, unknown>;
  const schema =
    "method" in v ? ("id" in v ? JsonRpcRequest : JsonRpcNotification) : "error" in v ? JsonRpcFailure : JsonRpcSuccess;
  const parsed = schema.safeParse(value);
  if (!parsed.success) return { ok: false, error: z.prettifyError(parsed.error) };
  return { ok: true, message: parsed.data as JsonRpcMessage };
}

/** JSON.parse that never throws, for socket frames (a raw JSON.parse on a frame is a crash waiting). */
export function safeParseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
