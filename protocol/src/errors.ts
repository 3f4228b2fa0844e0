import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";

/** FabriCore's own error codes, carried in JSON-RPC `error.data.code` so either side can react to
 * a cause (retry, fall back, tell the model) without parsing messages. */
export const ErrorCode = lazySchema(() =>
  z.enum([
    "invalid_message",
    "frame_too_large",
    "unknown_method",
    "invalid_params",
    "tool_not_found",
    "invalid_arguments",
    "tool_failed",
    "deadline_exceeded",
    "cancelled",
    "node_offline",
    "unauthorized",
    "version_mismatch",
    "not_allowed",
    "internal",
  ]),
);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** JSON-RPC 2.0 reserved codes, plus one application range code for everything FabriCore-specific. */
export const JsonRpcErrorNumber = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  application: -32000,
} as const;

export const WireError = lazySchema(() =>
  z.object({
    code: z.number().int(),
    message: z.string(),
    data: z.object({ code: ErrorCode }).loose().optional(),
  }),
);
export type WireError = z.infer<typeof WireError>;

/** The local error both sides throw; `toWire` turns it into a JSON-RPC error object. */
export class ProtocolError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, data?: Record<string, unknown>) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    this.data = data;
  }

  toWire(): WireError {
    return { code: jsonRpcNumberFor(this.code), message: this.message, data: { ...this.data, code: this.code } };
  }

  static fromWire(error: WireError): ProtocolError {
    const parsed = ErrorCode.safeParse(error.data?.code);
    return new ProtocolError(parsed.success ? parsed.data : "internal", error.message, error.data);
  }
}

function jsonRpcNumberFor(code: ErrorCode): number {
  switch (code) {
    case "invalid_message":
    case "frame_too_large":
      return JsonRpcErrorNumber.invalidRequest;
    case "unknown_method":
      return JsonRpcErrorNumber.methodNotFound;
    case "invalid_params":
      return JsonRpcErrorNumber.invalidParams;
    case "internal":
      return JsonRpcErrorNumber.internalError;
    default:
      return JsonRpcErrorNumber.application;
  }
}
