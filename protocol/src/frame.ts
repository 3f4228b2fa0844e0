import { type JsonRpcMessage, parseJsonRpcMessage, safeParseJson } from "./jsonrpc.ts";

export type DecodedFrame =
  | { ok: true; message: JsonRpcMessage }
  | { ok: false; error: string; id: string | number | null };

/** What a transport reports for a binary frame: the protocol speaks JSON text only. */
export const BINARY_FRAME_ERROR = "binary frames are not used; send JSON text";

/** One WebSocket text frame to one validated JSON-RPC message, for both sides' transports. Never
 * throws: a bad frame becomes an error carrying the request id when one can be read, so the peer's
 * error reply can name the request. */
export function decodeFrame(data: string): DecodedFrame {
  const json = safeParseJson(data);
  if (!json.ok) return { ok: false, error: `not JSON: ${json.error}`, id: null };
  const parsed = parseJsonRpcMessage(json.value);
  if (parsed.ok) return parsed;
  const id = (json.value as { id?: unknown } | null)?.id;
  return { ok: false, error: parsed.error, id: typeof id === "string" || typeof id === "number" ? id : null };
}
