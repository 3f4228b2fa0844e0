import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import {
  type CloseInfo,
  coreToNode,
  type HelloParams,
  type HelloResult,
  type Logger,
  MAX_FRAME_BYTES,
  type McpServerSpec,
  type McpServerStatus,
  NODE_CONNECT_PATH,
  nodeToCore,
  PROTOCOL_VERSION,
  ProtocolError,
  RpcPeer,
  type RpcPeerOptions,
  type ToolResult,
  type Transport,
} from "@fabricore/protocol";
import { WebSocketServer } from "ws";
import type { McpServerOp, McpServerOpResult } from "./mcp-server-ops.ts";
import {
  type Connection,
  type CorePeer,
  lastSeen,
  newConnection,
  noteFramesAsLife,
  sweepConnections,
} from "./node-hub-connection.ts";
import { nodeHubHandlers } from "./node-hub-handlers.ts";
import { mcpServerOp, syncMcp } from "./node-hub-mcp.ts";
import { NodeToolCalls } from "./node-hub-tool-calls.ts";
import { NodeToolLists } from "./node-hub-tool-lists.ts";
import type {
  AuthenticatedNode,
  CallToolOptions,
  CallToolParams,
  ConnectedNode,
  NodeAuthRefusal,
  NodeHubOptions,
} from "./node-hub-types.ts";
import { helloUpdateFields, offerUpdate } from "./node-hub-updates.ts";
import { credentialsOf, ignoreError, nodeIdOf, rejectUpgrade, trustNobody } from "./node-hub-upgrade.ts";
import { SharedToolLists } from "./shared-tool-lists.ts";
import { NodeCloseCode, WsServerTransport } from "./ws-server-transport.ts";

export type {
  AuthenticatedNode,
  CallToolOptions,
  CallToolParams,
  ConnectedNode,
  NodeAuthRefusal,
  NodeCredentials,
  NodeHubOptions,
} from "./node-hub-types.ts";
export { requestOrigin } from "./node-hub-upgrade.ts";

const DEFAULT_MAX_TOOL_LIST_BYTES = 4 * 1024 * 1024;
const DEFAULT_TOOLS_CHANGED_INTERVAL_MS = 1000;

const noopLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The Core's side of every Node connection: token auth at the WebSocket upgrade, hello, liveness,
 * the tool registry per Node and tool calls with deadlines and cancellation.
 *
 * Sized for 10,000 Nodes: connections live in one Map keyed by node id (O(1) lookups), and one sweep
 * timer per hub (not one per Node) pings every socket and closes the silent ones.
 *
 * Its parts, each in its own file: the upgrade's HTTP side (node-hub-upgrade.ts), the per-Node record
 * and the liveness sweep (node-hub-connection.ts), tool lists (node-hub-tool-lists.ts) and tool calls
 * with their output and progress (node-hub-tool-calls.ts), the handler table (node-hub-handlers.ts),
 * Node self-update (node-hub-updates.ts) and the Node's MCP servers (node-hub-mcp.ts). This class
 * wires them to the connections: accept, hello, close, and the public API.
 */
export class NodeHub {
  private readonly options: NodeHubOptions;
  private readonly connections = new Map<string, Connection>();
  private readonly toolCalls: NodeToolCalls;
  private readonly online = new Set<string>();
  /** Identical tool lists kept once, and only while a connection uses them (shared-tool-lists.ts). */
  readonly toolLists = new SharedToolLists();
  private readonly nodeToolLists: NodeToolLists;
  private readonly wss: WebSocketServer;
  /** One options object and one handler table for every connection's RPC peer (see RpcHandlers). */
  private readonly peerOptions: RpcPeerOptions<typeof nodeToCore, typeof coreToNode, Connection>;
  private readonly transportOptions: { now: () => number };
  private readonly sweepTimer: ReturnType<typeof setInterval>;
  private readonly logger: Logger;
  private readonly now: () => number;
  readonly heartbeatIntervalMs: number;
  private closing = false;
  /** When the sweep last ran: bytes seen arriving since then date from no later than this. */
  private lastSweepAt: number;

  constructor(options: NodeHubOptions) {
    this.options = options;
    this.logger = options.logger ?? noopLogger;
    this.now = options.now ?? Date.now;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 10_000;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_FRAME_BYTES,
      // Per-connection deflate state costs ~300 KB of memory each; at 10,000 Nodes that is gigabytes.
      perMessageDeflate: false,
    });
    this.toolCalls = new NodeToolCalls(options.deadlineGraceMs ?? 2_000, (what, fn) => this.safely(what, fn));
    this.nodeToolLists = new NodeToolLists(this.toolLists, {
      maxBytes: options.maxToolListBytes ?? DEFAULT_MAX_TOOL_LIST_BYTES,
      intervalMs: options.toolsChangedIntervalMs ?? DEFAULT_TOOLS_CHANGED_INTERVAL_MS,
      now: this.now,
      logger: this.logger,
      onApplied: (conn, tools) =>
        this.safely("onToolsChanged", () => this.options.onToolsChanged?.(conn.nodeId, tools)),
    });
    this.peerOptions = {
      incoming: nodeToCore,
      outgoing: coreToNode,
      disconnectCode: "node_offline",
      onProblem: (problem, conn) => this.logger.debug({ nodeId: conn.nodeId, problem }, "node protocol problem"),
      handlers: nodeHubHandlers({
        options,
        toolCalls: this.toolCalls,
        toolLists: this.nodeToolLists,
        hello: (conn, hello) => this.hello(conn, hello),
        safely: (what, fn) => this.safely(what, fn),
      }),
    };
    this.transportOptions = { now: this.now };
    this.lastSweepAt = this.now();
    this.sweepTimer = setInterval(() => this.sweep(), this.heartbeatIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * For a node:http server's 'upgrade' event. Returns false (touching nothing) when the request is
   * not for NODE_CONNECT_PATH, so other upgrade handlers can take it. The token is checked BEFORE the
   * upgrade completes; a bad one gets HTTP 401 and the socket is destroyed.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const path = (request.url ?? "").split("?")[0];
    if (path !== NODE_CONNECT_PATH) return false;
    // A client resetting the connection while we authenticate must not raise an unhandled 'error'.
    socket.on("error", ignoreError);
    void this.upgrade(request, socket, head);
    return true;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const remote = request.socket.remoteAddress;
    if (this.closing) {
      rejectUpgrade(socket, 503, "unavailable", "the Core is shutting down");
      return;
    }
    const credentials = credentialsOf(request, this.options.trustProxy ?? trustNobody);
    let identity: AuthenticatedNode | NodeAuthRefusal | null = null;
    if (credentials) {
      try {
        identity = await this.options.authenticate(credentials);
      } catch (error) {
        this.logger.error({ err: errorMessage(error), remote }, "node authentication failed");
        rejectUpgrade(socket, 503, "unavailable", "cannot check the node's credentials right now; retry later");
        return;
      }
    }
    if (!identity || "refused" in identity) {
      const reason = identity?.refused ?? "missing, unknown or revoked node credentials";
      this.logger.warn(
        { remote, credentials: credentials?.kind ?? "none", nodeId: nodeIdOf(credentials), reason },
        "node connection refused",
      );
      rejectUpgrade(socket, 401, "unauthorized", reason);
      return;
    }
    if (socket.destroyed) return;
    const who = identity;
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.accept(new WsServerTransport(ws, this.transportOptions, request.socket), who);
    });
  }

  /** Takes over an already-authenticated transport (the WebSocket path above, or an in-memory pair in
   * tests). A second connection for the same Node replaces the first. */
  accept(transport: Transport, identity: AuthenticatedNode): void {
    const { nodeId } = identity;
    if (this.closing) {
      void transport.close(NodeCloseCode.shuttingDown, "core shutting down");
      return;
    }
    const conn = newConnection(transport, identity, this.now());
    const peer: CorePeer = new RpcPeer(transport, this.peerOptions, conn);
    conn.peer = peer;
    noteFramesAsLife(conn, this.now);
    peer.onclose = (info) => this.closed(conn, info);

    const previous = this.connections.get(nodeId);
    this.connections.set(nodeId, conn);
    if (previous) {
      this.logger.info({ nodeId }, "node reconnected; closing its previous connection");
      void previous.peer.close(NodeCloseCode.replaced, "replaced by a newer connection");
    }
  }

  private async hello(conn: Connection, hello: HelloParams): Promise<HelloResult> {
    const { nodeId, peer } = conn;
    if (conn.hello) throw new ProtocolError("invalid_message", "hello was already received on this connection");
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      this.logger.warn({ nodeId, nodeVersion: hello.nodeVersion, protocol: hello.protocolVersion }, "version mismatch");
      // After the error reply below has been queued on the socket.
      setTimeout(() => void peer.close(NodeCloseCode.versionMismatch, "protocol version mismatch"), 0);
      throw new ProtocolError(
        "version_mismatch",
        `this Core speaks protocol version ${PROTOCOL_VERSION}, the Node ${hello.protocolVersion}; ` +
          "install the fabricore-node build that matches the Core",
        { expected: PROTOCOL_VERSION, received: hello.protocolVersion },
      );
    }
    // A failure here fails the hello (the Node retries): answering with an empty list would make
    // the Node stop every MCP server it runs.
    const desired = await this.options.desiredMcpServers(nodeId);
    if (conn.closed) throw new ProtocolError("node_offline", "the connection closed during hello");
    const announced = hello.tools;
    // The parsed hello is this connection's own object: keep it, with the fleet's shared tool list in
    // place of its own copy, rather than a second object.
    hello.tools = this.nodeToolLists.adoptHello(conn, announced);
    conn.hello = hello;
    conn.tools = hello.tools;
    conn.mcpServers = hello.mcpServers;
    conn.online = true;
    this.online.add(nodeId);
    this.logger.info(
      { nodeId, name: conn.name, version: hello.nodeVersion, hostname: hello.hostname, tools: announced.length },
      "node online",
    );
    this.safely("onOnline", () => this.options.onOnline?.(nodeId, hello));
    return {
      protocolVersion: PROTOCOL_VERSION,
      nodeId,
      name: conn.name,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      mcpServers: desired,
      ...helloUpdateFields(this.options, nodeId),
    };
  }

  private closed(conn: Connection, info: CloseInfo): void {
    conn.closed = true;
    this.nodeToolLists.release(conn);
    const current = this.connections.get(conn.nodeId) === conn;
    if (current) this.connections.delete(conn.nodeId);
    if (!conn.online) return;
    conn.online = false;
    // A replacement that has not said hello yet does not count as online.
    if (!this.connections.get(conn.nodeId)?.online) this.online.delete(conn.nodeId);
    const reason = `${info.code}${info.reason ? ` ${info.reason}` : ""}`;
    this.logger.info({ nodeId: conn.nodeId, code: info.code, reason: info.reason }, "node offline");
    this.safely("onOffline", () => this.options.onOffline?.(conn.nodeId, reason));
  }

  /** One pass over every connection: ping the live, close the silent. Runs once per heartbeat interval;
   * public so tests with a fake clock can drive it. */
  sweep(): void {
    const previousSweepAt = this.lastSweepAt;
    this.lastSweepAt = this.now();
    sweepConnections(
      this.connections.values(),
      previousSweepAt,
      this.lastSweepAt,
      this.heartbeatIntervalMs,
      this.logger,
    );
  }

  isOnline(nodeId: string): boolean {
    return this.online.has(nodeId);
  }

  /** A Node renamed in the store while connected here: its live entry takes the new name. */
  rename(nodeId: string, name: string): void {
    const conn = this.connections.get(nodeId);
    if (conn) conn.name = name;
  }

  get(nodeId: string): ConnectedNode | undefined {
    const conn = this.connections.get(nodeId);
    if (!conn?.online || !conn.hello) return undefined;
    return {
      nodeId: conn.nodeId,
      name: conn.name,
      hello: conn.hello,
      tools: conn.tools,
      mcpServers: conn.mcpServers,
      connectedAt: conn.connectedAt,
      lastSeenAt: lastSeen(conn),
      stats: conn.stats,
    };
  }

  onlineCount(): number {
    return this.online.size;
  }

  onlineNodeIds(): string[] {
    return [...this.online];
  }

  /**
   * Runs a tool on a Node. Rejects with ProtocolError: `node_offline` when the Node is not connected
   * or its connection drops during the call (at once, not at the deadline), `deadline_exceeded` after
   * deadlineMs plus a grace, `cancelled` when `signal` aborts (the Node is told to stop); and with the
   * Node's own error codes (`tool_not_found`, `invalid_params`, `tool_failed`).
   */
  /** `onOutput`: the call's output while it runs (exec_command's stdout/stderr), if the Node sends it. */
  async callTool(nodeId: string, call: CallToolParams, options: CallToolOptions = {}): Promise<ToolResult> {
    const conn = this.connections.get(nodeId);
    if (!conn?.online) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    return this.toolCalls.call(conn, call, options);
  }

  /** Sends the Node its desired MCP servers. Resolves with their state, or undefined when it is offline
   * (it gets the list in its next hello anyway). */
  async syncMcp(nodeId: string, specs: McpServerSpec[]): Promise<McpServerStatus[] | undefined> {
    return syncMcp(this.options, (what, fn) => this.safely(what, fn), this.connections.get(nodeId), specs);
  }

  /** Offers a connected Node a version to update to (`fabricore/node/update`); false when it is not
   * connected here. */
  offerUpdate(nodeId: string, version: string): boolean {
    return offerUpdate(this.connections.get(nodeId), version);
  }

  /** Restarts one MCP server on the Node, or reads its logs (mcp-server-ops.ts); node_offline when it is not connected. */
  async mcpServerOp(nodeId: string, op: McpServerOp): Promise<McpServerOpResult> {
    return mcpServerOp(this.connections.get(nodeId), nodeId, op);
  }

  /** Closes a Node's connection at once (its token was revoked); calls in flight fail with node_offline. */
  async disconnect(nodeId: string, code: number = NodeCloseCode.revoked, reason = "revoked"): Promise<boolean> {
    const conn = this.connections.get(nodeId);
    if (!conn) return false;
    await conn.peer.close(code, reason);
    return true;
  }

  /** Closes every connection and stops accepting new ones. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    await Promise.all(
      [...this.connections.values()].map((conn) =>
        conn.peer.close(NodeCloseCode.shuttingDown, "core shutting down").catch(() => {}),
      ),
    );
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger.error({ err: errorMessage(error) }, `${what} callback threw`);
    }
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
