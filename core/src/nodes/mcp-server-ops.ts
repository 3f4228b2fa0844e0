import {
  type coreToNode,
  type McpLogsResult,
  type McpServerStatus,
  ProtocolError,
  type RpcPeer,
} from "@fabricore/protocol";
import { z } from "zod";

/*
 * Operating one MCP server on a Node (issue 22.5): restart it, read its recent output. One op type
 * for the NodeHub and for the cluster's forwarding (core/src/cluster/cluster-hub.ts), so the two
 * requests travel between replicas as one shape and are checked on arrival like any Node answer.
 */

export const McpServerOp = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("restart"), name: z.string().min(1).max(100) }),
  z.object({ kind: z.literal("logs"), name: z.string().min(1).max(100), tail: z.number().int().min(1).max(1000) }),
]);
export type McpServerOp = z.infer<typeof McpServerOp>;

export type McpServerOpResult = { kind: "restart"; server: McpServerStatus } | ({ kind: "logs" } & McpLogsResult);

/** A restart waits for the first start (a pull, an MCP initialize); the Node gives up at its own 60 s. */
export const MCP_RESTART_TIMEOUT_MS = 90_000;
export const MCP_LOGS_TIMEOUT_MS = 15_000;

/** The peer of one Node connection, as far as these two requests need it. */
type NodePeer = Pick<RpcPeer<Record<string, never>, typeof coreToNode>, "request">;

/**
 * Sends the op to the Node. A Node older than these requests answers `unknown_method`; that becomes
 * `not_allowed` with a message that says what to do, instead of a bare protocol code.
 */
export async function sendMcpServerOp(peer: NodePeer, op: McpServerOp): Promise<McpServerOpResult> {
  try {
    if (op.kind === "restart") {
      const result = await peer.request(
        "fabricore/mcp/restart",
        { name: op.name },
        { timeoutMs: MCP_RESTART_TIMEOUT_MS },
      );
      return { kind: "restart", server: result.server };
    }
    const result = await peer.request(
      "fabricore/mcp/logs",
      { name: op.name, tail: op.tail },
      { timeoutMs: MCP_LOGS_TIMEOUT_MS },
    );
    return { kind: "logs", ...result };
  } catch (error) {
    if (error instanceof ProtocolError && error.code === "unknown_method") {
      throw new ProtocolError(
        "not_allowed",
        `this Node's version cannot ${op.kind === "restart" ? "restart" : "show the logs of"} an MCP server; update the Node`,
      );
    }
    throw error;
  }
}
