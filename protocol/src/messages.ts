import { z } from "zod";
import { RequestId } from "./jsonrpc.ts";
import { lazySchema } from "./lazy-schema.ts";
import { McpServerSpec, McpServerStatus } from "./mcp.ts";
import { McpLogsParams, McpLogsResult, McpRestartParams, McpRestartResult, NodeMcpPolicy } from "./mcp-ops.ts";
import { NodeUpdateOfferParams, NodeUpdateResultParams } from "./node-update.ts";
import { SystemStats, ToolDescriptor, ToolResult } from "./tools.ts";

/**
 * The two message catalogs, one per direction. Each entry is a JSON-RPC method: its params schema
 * and, for requests, its result schema. Method names follow MCP where MCP has the concept
 * (`tools/call`, `notifications/tools/list_changed`, `notifications/cancelled`,
 * `notifications/progress`) and use `fabricore/*` for the rest. See docs/ARCHITECTURE.md.
 */

export const NodeCapabilities = lazySchema(() =>
  z.object({
    exec: z.boolean(),
    docker: z.boolean(),
    readRoots: z.array(z.string()),
    /** What the Node lets managed MCP servers do (mcp-ops.ts); absent from older Nodes. */
    mcpPolicy: NodeMcpPolicy.optional(),
  }),
);
export type NodeCapabilities = z.infer<typeof NodeCapabilities>;

export const HelloParams = lazySchema(() =>
  z.object({
    protocolVersion: z.number().int().positive(),
    nodeVersion: z.string().max(64),
    hostname: z.string().max(255),
    os: z.string().max(64),
    arch: z.string().max(64),
    capabilities: NodeCapabilities,
    tools: z.array(ToolDescriptor).max(4096),
    mcpServers: z.array(McpServerStatus).max(256).default([]),
  }),
);
export type HelloParams = z.infer<typeof HelloParams>;

export const HelloResult = lazySchema(() =>
  z.object({
    protocolVersion: z.number().int().positive(),
    nodeId: z.string(),
    name: z.string(),
    heartbeatIntervalMs: z.number().int().positive(),
    /** Every MCP server this Node should be running; the Node converges to exactly this set. */
    mcpServers: z.array(McpServerSpec),
    /** The Node version this Core serves (GET /api/nodes/binary/:platform); a Node with --auto-update
     * that runs another one updates itself. Absent from older Cores. */
    nodeVersion: z.string().max(64).optional(),
    /** The Core's release public key (Ed25519, raw, base64url), as in the enroll answer. A Node that
     * enrolled before there was one pins it on first sight over this authenticated connection; a
     * pinned key is never replaced by it (docs/NODE-LIFECYCLE.md). Absent from older Cores. */
    updateKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/)
      .optional(),
  }),
);
export type HelloResult = z.infer<typeof HelloResult>;

export const HeartbeatParams = lazySchema(() =>
  z.object({
    at: z.number().int().nonnegative(),
    stats: SystemStats.partial().optional(),
  }),
);
export type HeartbeatParams = z.infer<typeof HeartbeatParams>;

export const ToolsChangedParams = lazySchema(() => z.object({ tools: z.array(ToolDescriptor).max(4096) }));
export type ToolsChangedParams = z.infer<typeof ToolsChangedParams>;

export const McpStatusParams = lazySchema(() => z.object({ servers: z.array(McpServerStatus).max(256) }));
export type McpStatusParams = z.infer<typeof McpStatusParams>;

export const ToolCallParams = lazySchema(() =>
  z.object({
    /** The tool's name on its source (not the model-facing name). */
    name: z.string().min(1).max(128),
    source: z.string().max(80).default("builtin"),
    arguments: z.record(z.string(), z.unknown()).default({}),
    /** Milliseconds the Node has; past it the Node aborts the tool and the Core has failed the step. */
    deadlineMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3_600_000),
    /** Stable across retries of the same call, so a Node never executes one call twice. */
    callId: z.string().min(1).max(128),
    runId: z.string().max(128).optional(),
    /** The Core shows this call's output while it runs: a tool that produces output as it goes
     * (exec_command) sends it as `fabricore/tool/output`. Unset: nothing is sent (an older Core). */
    streamOutput: z.boolean().optional(),
    /** Set: progress extends the deadline. A tool that reports progress (MCP `notifications/progress`)
     * has `deadlineMs` from its latest progress, never more than `maxDeadlineMs` from its start, and
     * the Node sends that progress as `fabricore/tool/progress`. Unset (an older Core): no extension. */
    maxDeadlineMs: z
      .number()
      .int()
      .positive()
      .max(24 * 3_600_000)
      .optional(),
  }),
);
export type ToolCallParams = z.infer<typeof ToolCallParams>;

/** TOOL_OUTPUT_CHUNK_MAX: the largest text of one output notification (the Node batches and cuts). */
export const TOOL_OUTPUT_CHUNK_MAX = 16_384;

/** Output of a call in flight (its result still carries the whole, capped output). */
export const ToolOutputParams = lazySchema(() =>
  z.object({
    callId: z.string().min(1).max(128),
    stream: z.enum(["stdout", "stderr"]),
    text: z.string().max(TOOL_OUTPUT_CHUNK_MAX),
  }),
);
export type ToolOutputParams = z.infer<typeof ToolOutputParams>;

/** The longest progress message carried (an MCP server's message is cut to it). */
export const TOOL_PROGRESS_MESSAGE_MAX = 512;

/** Progress of a call in flight (MCP `notifications/progress`), at most a few a second per call. */
export const ToolProgressParams = lazySchema(() =>
  z.object({
    callId: z.string().min(1).max(128),
    progress: z.number().finite(),
    total: z.number().finite().optional(),
    message: z.string().max(TOOL_PROGRESS_MESSAGE_MAX).optional(),
  }),
);
export type ToolProgressParams = z.infer<typeof ToolProgressParams>;

export const CancelledParams = lazySchema(() =>
  z.object({ requestId: RequestId, reason: z.string().max(1024).optional() }),
);
export type CancelledParams = z.infer<typeof CancelledParams>;

export const McpSyncParams = lazySchema(() => z.object({ servers: z.array(McpServerSpec).max(256) }));
export type McpSyncParams = z.infer<typeof McpSyncParams>;
export const McpSyncResult = lazySchema(() => z.object({ servers: z.array(McpServerStatus) }));

export const Empty = lazySchema(() => z.object({}).loose());

type Entry = { params: z.ZodType; result?: z.ZodType };

/** Requests and notifications the Node sends; the Core handles them. */
export const nodeToCore = {
  "fabricore/hello": { params: HelloParams, result: HelloResult },
  "fabricore/heartbeat": { params: HeartbeatParams },
  "notifications/tools/list_changed": { params: ToolsChangedParams },
  "fabricore/mcp/status": { params: McpStatusParams },
  "notifications/cancelled": { params: CancelledParams },
  "fabricore/tool/output": { params: ToolOutputParams },
  "fabricore/tool/progress": { params: ToolProgressParams },
  "fabricore/node/update-result": { params: NodeUpdateResultParams },
} as const satisfies Record<string, Entry>;

/** Requests and notifications the Core sends; the Node handles them. */
export const coreToNode = {
  "tools/call": { params: ToolCallParams, result: ToolResult },
  "fabricore/mcp/sync": { params: McpSyncParams, result: McpSyncResult },
  "fabricore/mcp/restart": { params: McpRestartParams, result: McpRestartResult },
  "fabricore/mcp/logs": { params: McpLogsParams, result: McpLogsResult },
  "fabricore/ping": { params: Empty, result: Empty },
  "notifications/cancelled": { params: CancelledParams },
  "fabricore/node/update": { params: NodeUpdateOfferParams },
} as const satisfies Record<string, Entry>;

export type Catalog = Record<string, Entry>;
export type NodeToCore = typeof nodeToCore;
export type CoreToNode = typeof coreToNode;

export type MethodsWithResult<C extends Catalog> = {
  [M in keyof C]: C[M] extends { result: z.ZodType } ? M : never;
}[keyof C] &
  string;
export type NotificationMethods<C extends Catalog> = {
  [M in keyof C]: C[M] extends { result: z.ZodType } ? never : M;
}[keyof C] &
  string;
export type ParamsOf<C extends Catalog, M extends keyof C> = z.input<C[M]["params"]>;
export type ParsedParamsOf<C extends Catalog, M extends keyof C> = z.output<C[M]["params"]>;
export type ResultOf<C extends Catalog, M extends keyof C> = C[M] extends { result: infer R extends z.ZodType }
  ? z.output<R>
  : never;
export type ResultInputOf<C extends Catalog, M extends keyof C> = C[M] extends { result: infer R extends z.ZodType }
  ? z.input<R>
  : never;
