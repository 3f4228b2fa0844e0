import { type McpServerSpec, type McpServerStatus, ProtocolError } from "@fabricore/protocol";
import { type McpServerOp, type McpServerOpResult, sendMcpServerOp } from "./mcp-server-ops.ts";
import type { Connection } from "./node-hub-connection.ts";
import type { NodeHubOptions } from "./node-hub-types.ts";

/*
 * The hub's side of the MCP servers a Node runs: their status as the Node reports it
 * (`fabricore/mcp/status`), the desired list pushed to it (`fabricore/mcp/sync`), and one server's
 * restart or logs (mcp-server-ops.ts, issue 22.5).
 */

type Safely = (what: string, fn: () => void) => void;

/** The Node's `fabricore/mcp/status`: kept on the connection and passed on, once it has said hello. */
export function mcpStatusReported(
  options: NodeHubOptions,
  safely: Safely,
  conn: Connection,
  servers: McpServerStatus[],
): void {
  if (!conn.online) return;
  conn.mcpServers = servers;
  safely("onMcpStatus", () => options.onMcpStatus?.(conn.nodeId, servers));
}

/** Sends the Node its desired MCP servers; their state, or undefined when it is offline (it gets the
 * list in its next hello anyway). */
export async function syncMcp(
  options: NodeHubOptions,
  safely: Safely,
  conn: Connection | undefined,
  specs: McpServerSpec[],
): Promise<McpServerStatus[] | undefined> {
  if (!conn?.online) return undefined;
  const result = await conn.peer.request(
    "fabricore/mcp/sync",
    { servers: specs },
    { timeoutMs: options.mcpSyncTimeoutMs ?? 120_000 },
  );
  if (!conn.closed) {
    conn.mcpServers = result.servers;
    safely("onMcpStatus", () => options.onMcpStatus?.(conn.nodeId, result.servers));
  }
  return result.servers;
}

/** Restarts one MCP server on the Node, or reads its logs; node_offline when it is not connected. */
export async function mcpServerOp(
  conn: Connection | undefined,
  nodeId: string,
  op: McpServerOp,
): Promise<McpServerOpResult> {
  if (!conn?.online) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
  return sendMcpServerOp(conn.peer, op);
}
