import type { McpLogsResult, McpServerSpec, McpServerStatus, ToolDescriptor, ToolResult } from "@fabricore/protocol";
import type { Logger } from "../logger.ts";
import type { McpPolicy } from "../runtime/node-policy.ts";
import type { ToolProgress } from "./progress-stream.ts";

export type { Logger };

/** What a provider gets with each call. */
export interface ToolCallContext {
  /** Aborted on cancel (the Core's `notifications/cancelled`, a dropped connection) and at the deadline.
   * A provider must stop its work promptly when it fires (kill the process, cancel the MCP request). */
  signal: AbortSignal;
  /** Milliseconds the call has in total, counted from when the Node received it. */
  deadlineMs: number;
  /** Set: progress extends the deadline (`deadlineMs` from the latest progress, up to this from the
   * start); the dispatcher enforces it, a provider with its own timeout must extend it alike. */
  maxDeadlineMs?: number | undefined;
  /** A provider whose tool reports progress (an MCP server's `notifications/progress`) calls it
   * with each report; the dispatcher extends the deadline and forwards it, coalesced, to the Core. */
  onProgress?: ((progress: ToolProgress) => void) | undefined;
  /** The descriptor's `source` the Core asked for: `builtin` or `mcp:<server>`. A provider serving several
   * sources (McpManager serves one per server) routes on it, since tool names repeat across servers. */
  source: string;
  /** Stable across the Core's retries; the dispatcher already guarantees a call runs at most once. */
  callId: string;
  runId?: string | undefined;
  /** Set when the Core shows this call's output live: a provider that produces output as it goes
   * calls it with each piece (exec_command does; batching and bounds are the caller's). */
  onOutput?: ((stream: "stdout" | "stderr", text: string) => void) | undefined;
}

/**
 * One kind of tool executor on the Node: the built-in tools, or the MCP servers (node/src/mcp).
 * The dispatcher asks every provider for its tools, routes `tools/call` by `(source, name)`, and
 * re-announces the union to the Core whenever a provider reports a change.
 */
export interface ToolProvider {
  /** The tools offered right now; each carries its `source`. Called often, so it should be cheap. */
  list(): ToolDescriptor[];
  /**
   * Runs one tool. Expected failures (bad arguments, a refused path, a non-zero exit, an MCP
   * tool's own error) come back as a result with `isError: true` and a message the model can act on.
   * Throw a protocol `ProtocolError` only for infrastructure failures (`tool_not_found`,
   * `tool_failed`, `cancelled`); anything else thrown is reported as `tool_failed`.
   */
  call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult>;
  /** Subscribe to changes of `list()`; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/**
 * The extra surface the Node program needs from the MCP manager (node/src/mcp) beside tool execution:
 * converging to the Core's desired set of servers and reporting their state.
 */
export interface McpProvider extends ToolProvider {
  /** Converge to exactly these servers (start, restart on change, stop the rest); resolves with their state. */
  sync(specs: McpServerSpec[]): Promise<McpServerStatus[]>;
  /** Current state of every server, for `fabricore/hello`. */
  status(): McpServerStatus[];
  /** Subscribe to state changes (a crash, a restart); the Node forwards them as `fabricore/mcp/status`. */
  onStatus(listener: (servers: McpServerStatus[]) => void): () => void;
  /** Stop talking to the servers; called at shutdown. */
  close(): Promise<void>;
  /** Stop one server and start it again under the Node's policy (`fabricore/mcp/restart`). */
  restartServer(name: string): Promise<McpServerStatus>;
  /** One server's recent output (`fabricore/mcp/logs`). */
  serverLogs(name: string, tail: number): Promise<McpLogsResult>;
}

/**
 * What the Node program hands its `McpFactory` (main.ts; in production `createMcpManager`, whose own
 * `CreateMcpManagerOptions` accept this and more; the manager itself is built from a resolved
 * `McpManagerConfig`).
 */
export interface McpFactoryOptions {
  /** Docker endpoint: a unix socket path, or a `tcp://host:port` URL. */
  dockerSocket: string;
  /** The Node's data directory, for any state the manager keeps across restarts. */
  dataDir: string;
  logger: Logger;
  /** The Node's limits on MCP images and mounts, from its flags. */
  policy?: McpPolicy | undefined;
  /** --egress-dns: the DNS server the egress proxies resolve with. */
  egressDns?: string | undefined;
}
