import {
  CancelledParams,
  McpLogsResult,
  McpRestartResult,
  McpServerSpec,
  McpServerStatus,
  ToolCallParams,
  ToolResult,
} from "@fabricore/protocol";
import { z } from "zod";
import { McpServerOp } from "../nodes/mcp-server-ops.ts";

/*
 * What one Core replica asks another that holds a Node's socket (cluster-hub.ts): the NodeAccess
 * calls, run there by its NodeHub. The same catalog serves both directions, and RpcPeer checks
 * params on arrival and results before the caller sees them, so another replica's answer is held
 * to the schema a Node's own answer is.
 */

const NodeId = z.string().min(1).max(128);

export const McpServerOpResult = z.discriminatedUnion("kind", [
  McpRestartResult.extend({ kind: z.literal("restart") }),
  McpLogsResult.extend({ kind: z.literal("logs") }),
]);

export const replicaCatalog = {
  /** A forwarded call never streams: its whole output comes back in the result. */
  "replica/callTool": {
    params: z.object({ nodeId: NodeId, call: ToolCallParams.omit({ streamOutput: true }) }),
    result: ToolResult,
  },
  /** null: the Node is not connected there (any more). */
  "replica/syncMcp": {
    params: z.object({ nodeId: NodeId, specs: z.array(McpServerSpec).max(256) }),
    result: z.array(McpServerStatus).nullable(),
  },
  "replica/mcpServerOp": { params: z.object({ nodeId: NodeId, op: McpServerOp }), result: McpServerOpResult },
  /** true: the holder had the Node connected and closed that connection. */
  "replica/disconnect": {
    params: z.object({ nodeId: NodeId, code: z.number().int().min(1000).max(4999), reason: z.string().max(123) }),
    result: z.boolean(),
  },
  "notifications/cancelled": { params: CancelledParams },
} as const;

export type ReplicaCatalog = typeof replicaCatalog;
