import { type McpLogsResult, ProtocolError } from "@fabricore/protocol";
import { CoreError } from "../errors.ts";
import type { McpServerOp, McpServerOpResult } from "../nodes/mcp-server-ops.ts";
import { MIN_REDACTED_LENGTH } from "../secrets/redactor.ts";

/*
 * Retry/Restart and logs of one MCP server (issue 22.5), between the API and the Node: which
 * ProtocolError becomes which API error, and the redaction of what the Node sends back.
 */

/** The Node's answer to the Core's error codes (api/errors.ts maps those to HTTP statuses). */
export function asCoreError(error: unknown, what: string): unknown {
  if (!(error instanceof ProtocolError)) return error;
  switch (error.code) {
    case "node_offline":
      return new CoreError("node_offline", `${what}: the Node is not connected`);
    case "deadline_exceeded":
      return new CoreError("unavailable", `${what}: the Node did not answer in time`);
    // The Node does not run it (never told: its spec does not resolve) or refuses (an old Node).
    case "invalid_params":
    case "not_allowed":
      return new CoreError("conflict", `${what}: ${error.message}`);
    default:
      return new CoreError("unavailable", `${what}: ${error.message}`);
  }
}

/**
 * Replaces the values of a server's own settings and environment with `[setting:NAME]`: the API
 * shows them as `(set)`, so its logs must not show them either. Stored secrets are the redactor's.
 */
export function serverValueRedactor(values: Record<string, string>): (text: string) => string {
  const entries = Object.entries(values)
    .filter(([, value]) => value.length >= MIN_REDACTED_LENGTH)
    .sort(([, a], [, b]) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const [name, value] of entries) if (out.includes(value)) out = out.split(value).join(`[setting:${name}]`);
    return out;
  };
}

export function redactLogs(result: McpLogsResult, redact: (text: string) => string): McpLogsResult {
  return { ...result, lines: result.lines.map((line) => ({ ...line, text: redact(line.text) })) };
}

/** Narrows an op's answer to its kind (a mismatched answer is the Core's own bug, not the Node's). */
export function expectKind<K extends McpServerOp["kind"]>(
  result: McpServerOpResult,
  kind: K,
): Extract<McpServerOpResult, { kind: K }> {
  if (result.kind !== kind) throw new CoreError("internal", `expected a ${kind} answer, got ${result.kind}`);
  return result as Extract<McpServerOpResult, { kind: K }>;
}
