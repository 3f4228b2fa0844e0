import type {
  coreToNode,
  HelloParams,
  Logger,
  McpServerStatus,
  nodeToCore,
  RpcPeer,
  SystemStats,
  ToolDescriptor,
  Transport,
} from "@fabricore/protocol";
import type { AuthenticatedNode } from "./node-hub-types.ts";
import { NodeCloseCode } from "./ws-server-transport.ts";

export type CorePeer = RpcPeer<typeof nodeToCore, typeof coreToNode, Connection>;

/** Everything the hub keeps per Node. Kept small on purpose: at 10,000 Nodes every field and closure
 * here is multiplied (bench/fleet.ts measures the Core's memory per Node against bare `ws`). */
export interface Connection extends AuthenticatedNode {
  peer: CorePeer;
  transport: Transport;
  hello: HelloParams | undefined;
  tools: ToolDescriptor[];
  mcpServers: McpServerStatus[];
  connectedAt: number;
  lastSeenAt: number;
  stats: Partial<SystemStats> | undefined;
  online: boolean;
  closed: boolean;
  /** The shared tool list this connection holds a reference to. */
  toolsKey: string | undefined;
  /** tools/list_changed throttle: when one was last applied, and the latest one waiting. */
  toolsAppliedAt: number;
  pendingTools: ToolDescriptor[] | undefined;
  pendingTimer: ReturnType<typeof setTimeout> | undefined;
}

/** A connection that has not said hello. The caller sets `peer` next: the peer takes the record as
 * its handlers' context, so the two are made together. */
export function newConnection(transport: Transport, identity: AuthenticatedNode, connectedAt: number): Connection {
  return {
    nodeId: identity.nodeId,
    name: identity.name,
    peer: undefined as unknown as CorePeer,
    transport,
    hello: undefined,
    tools: [],
    mcpServers: [],
    connectedAt,
    lastSeenAt: connectedAt,
    stats: undefined,
    online: false,
    closed: false,
    toolsKey: undefined,
    toolsAppliedAt: Number.NEGATIVE_INFINITY,
    pendingTools: undefined,
    pendingTimer: undefined,
  };
}

/** Every frame is a sign of life. A socket transport keeps its own clock (liveness.lastActivityAt,
 * pongs included); any other transport gets its handler wrapped rather than frames parsed twice.
 * Call after the peer has set the transport's handler. */
export function noteFramesAsLife(conn: Connection, now: () => number): void {
  const { transport } = conn;
  if (transport.liveness) return;
  const deliver = transport.onmessage;
  transport.onmessage = (message) => {
    conn.lastSeenAt = now();
    deliver?.(message);
  };
}

export function lastSeen(conn: Connection): number {
  const liveness = conn.transport.liveness;
  return liveness ? Math.max(conn.lastSeenAt, liveness.lastActivityAt) : conn.lastSeenAt;
}

/** Heartbeat intervals of silence after which a Node is considered gone. */
const SILENT_INTERVALS = 3;

/** One pass over every connection: ping the live, close the silent and those that never said hello.
 * `previousSweepAt`: bytes a socket saw arrive since then date from no later than it. */
export function sweepConnections(
  connections: Iterable<Connection>,
  previousSweepAt: number,
  now: number,
  heartbeatIntervalMs: number,
  logger: Logger,
): void {
  const silentBefore = now - SILENT_INTERVALS * heartbeatIntervalMs;
  for (const conn of connections) {
    conn.transport.liveness?.noteBytes(previousSweepAt);
    const lastSeenAt = lastSeen(conn);
    if (!conn.online && conn.connectedAt < silentBefore) {
      drop(conn, NodeCloseCode.helloTimeout, "no hello");
    } else if (lastSeenAt < silentBefore) {
      logger.warn({ nodeId: conn.nodeId, silentMs: now - lastSeenAt }, "node silent; closing");
      drop(conn, NodeCloseCode.heartbeatTimeout, "heartbeat timeout");
    } else {
      conn.transport.liveness?.ping?.();
    }
  }
}

function drop(conn: Connection, code: number, reason: string): void {
  // A silent peer will not answer a close handshake either; drop the TCP connection.
  const terminate = conn.transport.liveness?.terminate;
  if (terminate) terminate.call(conn.transport.liveness, code, reason);
  else void conn.peer.close(code, reason);
}
