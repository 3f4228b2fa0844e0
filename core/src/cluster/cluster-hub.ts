import {
  type Logger,
  type McpServerSpec,
  type McpServerStatus,
  type MethodsWithResult,
  type ParamsOf,
  ProtocolError,
  type ResultOf,
  RpcHandlers,
  RpcPeer,
  type RpcPeerOptions,
  safeParseJson,
  type ToolResult,
} from "@fabricore/protocol";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { McpServerOp, McpServerOpResult } from "../nodes/mcp-server-ops.ts";
import type { NodeAccess } from "../nodes/node-access.ts";
import type { CallToolOptions, CallToolParams, ConnectedNode, NodeHub } from "../nodes/node-hub.ts";
import { NodeCloseCode } from "../nodes/ws-server-transport.ts";
import { type ClusterKeys, scanKeys } from "./redis.ts";
import { RedisRpcLink } from "./redis-rpc-transport.ts";
import type { RedisSubscriber } from "./redis-subscriber.ts";
import { type ReplicaCatalog, replicaCatalog } from "./replica-catalog.ts";

/** Which replica holds a Node's socket, with the Node's live view (what `get` returns). */
interface Presence {
  replicaId: string;
  node: ConnectedNode;
}

const PresenceMessage = z.object({
  replicaId: z.string(),
  nodeId: z.string(),
  /** null: the Node went offline on that replica. */
  node: z.record(z.string(), z.unknown()).nullable(),
});

/** The context of the RPC peer for one other replica. */
interface Remote {
  replicaId: string;
  /** Its calls this replica is running now. */
  serving: number;
  lastUsedAt: number;
}
type ReplicaPeer = RpcPeer<ReplicaCatalog, ReplicaCatalog, Remote>;

/** A call this replica waits on at another; `orphaned` aborts it when that one stops holding the Node. */
interface Outgoing {
  replicaId: string;
  nodeId: string;
  orphaned: AbortController;
}

/** A peer unused for this long is dropped: replica ids are new on every start, so the peers of
 * restarted replicas would pile up. Long enough that no late answer or cancel can still arrive. */
const IDLE_PEER_MS = 10 * 60_000;

/** SET the presence key only when no other replica holds it: a refresh must not take back a Node
 * that has since connected to another replica. */
const REFRESH_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).replicaId ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** DEL the presence key only when this replica still holds it. */
const RELEASE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).replicaId == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface ClusterHubOptions {
  local: NodeHub;
  /** A connection for commands (not the subscribed one). */
  redis: Redis;
  keys: ClusterKeys;
  replicaId: string;
  /** Presence keys expire after this unless refreshed (every third of it). */
  ttlMs: number;
  /** Added to a remote call's own deadline grace: the hop through Redis and the other replica. */
  remoteGraceMs?: number;
  /** The local hub's deadline grace (NodeHub's deadlineGraceMs). Default 2 s. */
  deadlineGraceMs?: number;
  /** A peer for another replica unused this long is dropped (default 10 min); tests shorten it. */
  idlePeerMs?: number;
  logger?: Logger;
}

/**
 * The Nodes of the whole cluster, as the run executor and the services see them (NodeAccess).
 *
 * Each Node holds one WebSocket to one replica. That replica writes `<prefix>:node:<id>` (holder and
 * the Node's live view) with an expiry it keeps refreshing, and announces changes on a presence
 * channel; every replica mirrors the entries so `get`/`isOnline` stay synchronous. A call for a
 * Node held elsewhere is a JSON-RPC request (replica-catalog.ts) to the holder over Redis
 * (redis-rpc-transport.ts), run there by its NodeHub, with the NodeHub's ProtocolError codes:
 * node_offline at once when the holder is gone (nobody subscribed, or its entry vanished mid-call),
 * deadline_exceeded after the deadline, cancelled when the caller aborts (the holder is told to
 * cancel on the Node), invalid_message when the holder's answer does not fit the catalog.
 */
export class ClusterHub implements NodeAccess {
  private readonly options: ClusterHubOptions;
  private readonly local: NodeHub;
  private mirror = new Map<string, Presence & { expiresAt: number }>();
  private readonly link: RedisRpcLink<ReplicaPeer>;
  private readonly outgoing = new Set<Outgoing>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(options: ClusterHubOptions) {
    this.options = options;
    this.local = options.local;
    const peerOptions: RpcPeerOptions<ReplicaCatalog, ReplicaCatalog, Remote> = {
      incoming: replicaCatalog,
      outgoing: replicaCatalog,
      disconnectCode: "node_offline",
      handlers: this.handlers(),
      onProblem: (problem, remote) =>
        // Mostly a late answer to a call that was cancelled or timed out here; as NodeHub's, debug.
        options.logger?.debug({ problem, replicaId: remote.replicaId }, "replica protocol problem"),
    };
    this.link = new RedisRpcLink<ReplicaPeer>({
      redis: options.redis,
      replicaId: options.replicaId,
      channel: (replicaId) => options.keys.rpc(replicaId),
      makePeer: (transport, replicaId) =>
        new RpcPeer(transport, peerOptions, { replicaId, serving: 0, lastUsedAt: Date.now() }),
      ...(options.logger && { logger: options.logger }),
    });
  }

  async start(subscriber: RedisSubscriber): Promise<void> {
    await subscriber.subscribe(this.options.keys.presence, (m) => this.onPresence(m));
    await this.link.start(subscriber);
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), Math.max(200, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops serving; calls waiting for other replicas fail with node_offline. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.link.close(1001, "this Core replica is shutting down");
  }

  /** The local NodeHub's callbacks call this whenever a Node here goes online, offline or changes. */
  nodeChanged(nodeId: string): void {
    if (this.closed) return;
    void this.announce(nodeId).catch((error) =>
      this.options.logger?.warn({ err: error, nodeId }, "publishing node presence failed"),
    );
  }

  // ---- NodeAccess ----

  get(nodeId: string): ConnectedNode | undefined {
    return this.local.get(nodeId) ?? this.remote(nodeId)?.node;
  }

  isOnline(nodeId: string): boolean {
    return this.local.isOnline(nodeId) || this.remote(nodeId) !== undefined;
  }

  onlineCount(): number {
    return this.onlineNodeIds().length;
  }

  onlineNodeIds(): string[] {
    const ids = new Set(this.local.onlineNodeIds());
    for (const nodeId of this.mirror.keys()) if (this.remote(nodeId)) ids.add(nodeId);
    return [...ids];
  }

  /** The new name shows here at once if the Node is connected to this replica, elsewhere when it
   * next reconnects (runs read Node names from the store anyway). */
  rename(nodeId: string, name: string): void {
    this.local.rename(nodeId, name);
  }

  /** Live output (`onOutput`) and progress (`onProgress`) only when the Node is connected here; a
   * call forwarded to another replica returns its whole output in the result, as before. */
  async callTool(nodeId: string, call: CallToolParams, options: CallToolOptions = {}): Promise<ToolResult> {
    if (this.local.isOnline(nodeId)) return this.local.callTool(nodeId, call, options);
    const holder = this.remote(nodeId);
    if (!holder) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    // The holder replica enforces the deadline progress extends; here only its ceiling is known.
    const timeoutMs =
      Math.max(call.deadlineMs, call.maxDeadlineMs ?? 0) +
      (this.options.deadlineGraceMs ?? 2_000) +
      (this.options.remoteGraceMs ?? 2_000);
    const params = { nodeId, call };
    return this.request(holder.replicaId, nodeId, "replica/callTool", params, timeoutMs, options.signal);
  }

  async syncMcp(nodeId: string, specs: McpServerSpec[]): Promise<McpServerStatus[] | undefined> {
    if (this.local.isOnline(nodeId)) return this.local.syncMcp(nodeId, specs);
    const holder = this.remote(nodeId);
    if (!holder) return undefined;
    const result = await this.request(holder.replicaId, nodeId, "replica/syncMcp", { nodeId, specs }, 125_000);
    return result ?? undefined;
  }

  async mcpServerOp(nodeId: string, op: McpServerOp): Promise<McpServerOpResult> {
    if (this.local.isOnline(nodeId)) return this.local.mcpServerOp(nodeId, op);
    const holder = this.remote(nodeId);
    if (!holder) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    const result = await this.request(holder.replicaId, nodeId, "replica/mcpServerOp", { nodeId, op }, 95_000);
    if (result.kind !== op.kind) {
      throw new ProtocolError(
        "invalid_message",
        `replica ${holder.replicaId} answered a ${op.kind} with ${result.kind}`,
      );
    }
    return result;
  }

  async disconnect(nodeId: string, code: number = NodeCloseCode.revoked, reason = "revoked"): Promise<boolean> {
    const here = await this.local.disconnect(nodeId, code, reason);
    const holder = this.remote(nodeId);
    if (!holder) return here;
    try {
      const params = { nodeId, code, reason };
      return (await this.request(holder.replicaId, nodeId, "replica/disconnect", params, 10_000)) || here;
    } catch {
      return here;
    }
  }

  // ---- presence ----

  private remote(nodeId: string): (Presence & { expiresAt: number }) | undefined {
    const entry = this.mirror.get(nodeId);
    if (!entry || entry.replicaId === this.options.replicaId || entry.expiresAt < Date.now()) return undefined;
    return entry;
  }

  private async announce(nodeId: string): Promise<void> {
    const { redis, keys, replicaId, ttlMs } = this.options;
    const node = this.local.get(nodeId);
    if (node) {
      // A new hello here is the newest connection of this Node: take the key unconditionally.
      await redis.set(keys.node(nodeId), JSON.stringify({ replicaId, node }), "PX", ttlMs);
    } else {
      await redis.eval(RELEASE_SCRIPT, 1, keys.node(nodeId), replicaId);
    }
    await redis.publish(keys.presence, JSON.stringify({ replicaId, nodeId, node: node ?? null }));
  }

  private onPresence(message: string): void {
    const parsed = parseMessage(PresenceMessage, message);
    if (!parsed) return;
    const { replicaId, nodeId, node } = parsed;
    if (replicaId === this.options.replicaId) return;
    if (node) {
      const connected = node as unknown as ConnectedNode;
      this.mirror.set(nodeId, { replicaId, node: connected, expiresAt: Date.now() + this.options.ttlMs });
      // The Node said hello to another replica after connecting here: this connection is stale
      // (a half-open socket, a Node that failed over). As in one process, the newer one wins.
      const mine = this.local.get(nodeId);
      if (mine && mine.connectedAt <= connected.connectedAt) {
        void this.local.disconnect(nodeId, NodeCloseCode.replaced, "replaced by a connection to another replica");
      }
    } else if (this.mirror.get(nodeId)?.replicaId === replicaId) {
      this.mirror.delete(nodeId);
    }
    this.failOrphanedCalls();
  }

  /** Refreshes this replica's presence keys and re-reads everyone's (entries of a dead replica
   * expire in Redis; this is how the mirror learns it). */
  private async refresh(): Promise<void> {
    const { redis, keys, replicaId, ttlMs } = this.options;
    try {
      const pipeline = redis.pipeline();
      for (const nodeId of this.local.onlineNodeIds()) {
        const node = this.local.get(nodeId);
        if (node)
          pipeline.eval(REFRESH_SCRIPT, 1, keys.node(nodeId), replicaId, JSON.stringify({ replicaId, node }), ttlMs);
      }
      await pipeline.exec();
      const nodeKeys = await scanKeys(redis, keys.nodePattern);
      const values = nodeKeys.length ? await redis.mget(...nodeKeys) : [];
      const next = new Map<string, Presence & { expiresAt: number }>();
      const expiresAt = Date.now() + ttlMs;
      for (const [i, key] of nodeKeys.entries()) {
        const value = values[i];
        if (!value) continue;
        try {
          const presence = JSON.parse(value) as Presence;
          next.set(key.slice(keys.node("").length), { ...presence, expiresAt });
        } catch {
          // A malformed entry is skipped; it expires on its own.
        }
      }
      this.mirror = next;
      this.failOrphanedCalls();
      this.dropIdlePeers();
    } catch (error) {
      this.options.logger?.warn({ err: error }, "refreshing node presence failed; will retry");
    }
  }

  /** A call waiting on a replica that no longer holds its Node will never be answered: fail it now,
   * as a dropped connection fails a call in one process. */
  private failOrphanedCalls(): void {
    for (const call of this.outgoing) {
      if (this.remote(call.nodeId)?.replicaId !== call.replicaId) call.orphaned.abort();
    }
  }

  // ---- calls between replicas ----

  /** A call to the replica holding `nodeId`; RpcPeer keeps the timeout, the cancel and the checks. */
  private async request<M extends MethodsWithResult<ReplicaCatalog>>(
    replicaId: string,
    nodeId: string,
    method: M,
    params: ParamsOf<ReplicaCatalog, M>,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ResultOf<ReplicaCatalog, M>> {
    if (this.closed) throw new ProtocolError("node_offline", "this Core replica is shutting down");
    if (signal?.aborted) throw new ProtocolError("cancelled", "the call was cancelled");
    const peer = this.link.peer(replicaId);
    const call: Outgoing = { replicaId, nodeId, orphaned: new AbortController() };
    this.outgoing.add(call);
    peer.context.lastUsedAt = Date.now();
    try {
      return await peer.request(method, params, {
        timeoutMs,
        signal: signal ? AbortSignal.any([signal, call.orphaned.signal]) : call.orphaned.signal,
      });
    } catch (error) {
      if (call.orphaned.signal.aborted) {
        throw new ProtocolError("node_offline", `node ${nodeId} disconnected from replica ${replicaId}`);
      }
      throw error;
    } finally {
      this.outgoing.delete(call);
      peer.context.lastUsedAt = Date.now();
    }
  }

  /** What other replicas ask of this one, shared by every peer (the peer's context says who). */
  private handlers(): RpcHandlers<ReplicaCatalog, Remote> {
    return new RpcHandlers<ReplicaCatalog, Remote>()
      .onRequest("replica/callTool", ({ nodeId, call }, { signal, context }) =>
        this.serve(context, () => this.local.callTool(nodeId, call, { signal })),
      )
      .onRequest("replica/syncMcp", ({ nodeId, specs }, { context }) =>
        this.serve(context, async () => (await this.local.syncMcp(nodeId, specs)) ?? null),
      )
      .onRequest("replica/mcpServerOp", ({ nodeId, op }, { context }) =>
        this.serve(context, () => this.local.mcpServerOp(nodeId, op)),
      )
      .onRequest("replica/disconnect", ({ nodeId, code, reason }, { context }) =>
        this.serve(context, () => this.local.disconnect(nodeId, code, reason)),
      );
  }

  private async serve<T>(remote: Remote, run: () => Promise<T>): Promise<T> {
    remote.serving += 1;
    try {
      return await run();
    } finally {
      remote.serving -= 1;
      remote.lastUsedAt = Date.now();
    }
  }

  /** Peers of replicas that stopped (restarted ones come back under a new id) would pile up. */
  private dropIdlePeers(): void {
    const idleSince = Date.now() - (this.options.idlePeerMs ?? IDLE_PEER_MS);
    for (const [, peer] of this.link.peers()) {
      const remote = peer.context;
      if (peer.pendingCount === 0 && remote.serving === 0 && remote.lastUsedAt < idleSince)
        void peer.close(1000, "idle");
    }
  }
}

/** Presence from other replicas is checked like a socket frame: a bad one is dropped, never thrown. */
function parseMessage<T>(schema: z.ZodType<T>, text: string): T | undefined {
  const json = safeParseJson(text);
  const parsed = json.ok ? schema.safeParse(json.value) : undefined;
  return parsed?.success ? parsed.data : undefined;
}
