import { randomUUID } from "node:crypto";
import type { Logger } from "@fabricore/protocol";
import { type McpServerSpec, type McpServerStatus, ProtocolError, type ToolResult } from "@fabricore/protocol";
import type { Redis } from "ioredis";
import { z } from "zod";
import { McpServerOp, type McpServerOpResult, parseMcpServerOpResult } from "../nodes/mcp-server-ops.ts";
import type { NodeAccess } from "../nodes/node-access.ts";
import type { CallToolOptions, CallToolParams, ConnectedNode, NodeHub } from "../nodes/node-hub.ts";
import { NodeCloseCode } from "../nodes/ws-server-transport.ts";
import { type ClusterKeys, scanKeys } from "./redis.ts";
import type { RedisSubscriber } from "./redis-subscriber.ts";

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

const Request = z.discriminatedUnion("op", [
  z.object({ op: z.literal("callTool"), id: z.string(), from: z.string(), nodeId: z.string(), call: z.unknown() }),
  z.object({ op: z.literal("syncMcp"), id: z.string(), from: z.string(), nodeId: z.string(), specs: z.unknown() }),
  z.object({ op: z.literal("mcpServerOp"), id: z.string(), from: z.string(), nodeId: z.string(), mcp: z.unknown() }),
  z.object({
    op: z.literal("disconnect"),
    id: z.string(),
    from: z.string(),
    nodeId: z.string(),
    code: z.number().int(),
    reason: z.string(),
  }),
  z.object({ op: z.literal("cancel"), id: z.string(), from: z.string(), reason: z.string() }),
]);
type RequestBody =
  | { op: "callTool"; call: CallToolParams }
  | { op: "syncMcp"; specs: McpServerSpec[] }
  | { op: "mcpServerOp"; mcp: McpServerOp }
  | { op: "disconnect"; code: number; reason: string };

const Reply = z.union([
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.string(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), data: z.record(z.string(), z.unknown()).optional() }),
  }),
]);

interface Pending {
  replicaId: string;
  nodeId: string;
  resolve(value: unknown): void;
  reject(error: ProtocolError): void;
}

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
  logger?: Logger;
}

/**
 * The Nodes of the whole cluster, as the run executor and the services see them (NodeAccess).
 *
 * Each Node holds one WebSocket to one replica. That replica writes `<prefix>:node:<id>` (holder and
 * the Node's live view) with an expiry it keeps refreshing, and announces changes on a presence
 * channel; every replica mirrors the entries so `get`/`isOnline` stay synchronous. A call for a
 * Node held elsewhere is published to the holder's request channel, executed there by its NodeHub,
 * and answered on the caller's reply channel — with the NodeHub's ProtocolError codes: node_offline
 * at once when the holder is gone (nobody subscribed, or its entry vanished mid-call),
 * deadline_exceeded after the deadline, cancelled when the caller aborts (the holder is told to
 * cancel on the Node).
 */
export class ClusterHub implements NodeAccess {
  private readonly options: ClusterHubOptions;
  private readonly local: NodeHub;
  private mirror = new Map<string, Presence & { expiresAt: number }>();
  private readonly pending = new Map<string, Pending>();
  /** Calls this replica runs for others, by `<from>:<id>`, so a cancel can reach them. */
  private readonly serving = new Map<string, AbortController>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(options: ClusterHubOptions) {
    this.options = options;
    this.local = options.local;
  }

  async start(subscriber: RedisSubscriber): Promise<void> {
    const { keys, replicaId } = this.options;
    await subscriber.subscribe(keys.presence, (m) => this.onPresence(m));
    await subscriber.subscribe(keys.rpc(replicaId), (m) => void this.onRequest(m));
    await subscriber.subscribe(keys.replies(replicaId), (m) => this.onReply(m));
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), Math.max(200, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops serving; calls waiting for other replicas fail with node_offline. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const controller of this.serving.values()) controller.abort("the replica is shutting down");
    for (const [id, pending] of this.pending) {
      this.pending.delete(id);
      pending.reject(new ProtocolError("node_offline", "this Core replica is shutting down"));
    }
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
    return (await this.request(
      holder.replicaId,
      nodeId,
      { op: "callTool", call },
      timeoutMs,
      options.signal,
    )) as ToolResult;
  }

  async syncMcp(nodeId: string, specs: McpServerSpec[]): Promise<McpServerStatus[] | undefined> {
    if (this.local.isOnline(nodeId)) return this.local.syncMcp(nodeId, specs);
    const holder = this.remote(nodeId);
    if (!holder) return undefined;
    const result = await this.request(holder.replicaId, nodeId, { op: "syncMcp", specs }, 125_000);
    return (result ?? undefined) as McpServerStatus[] | undefined;
  }

  async mcpServerOp(nodeId: string, op: McpServerOp): Promise<McpServerOpResult> {
    if (this.local.isOnline(nodeId)) return this.local.mcpServerOp(nodeId, op);
    const holder = this.remote(nodeId);
    if (!holder) throw new ProtocolError("node_offline", `node ${nodeId} is not connected`);
    const result = await this.request(holder.replicaId, nodeId, { op: "mcpServerOp", mcp: op }, 95_000);
    return parseMcpServerOpResult(op, result);
  }

  async disconnect(nodeId: string, code: number = NodeCloseCode.revoked, reason = "revoked"): Promise<boolean> {
    const here = await this.local.disconnect(nodeId, code, reason);
    const holder = this.remote(nodeId);
    if (!holder) return here;
    try {
      return Boolean(await this.request(holder.replicaId, nodeId, { op: "disconnect", code, reason }, 10_000)) || here;
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
    } catch (error) {
      this.options.logger?.warn({ err: error }, "refreshing node presence failed; will retry");
    }
  }

  /** A call waiting on a replica that no longer holds its Node will never be answered: fail it now,
   * as a dropped connection fails a call in one process. */
  private failOrphanedCalls(): void {
    for (const [id, pending] of this.pending) {
      if (this.remote(pending.nodeId)?.replicaId === pending.replicaId) continue;
      this.pending.delete(id);
      pending.reject(
        new ProtocolError("node_offline", `node ${pending.nodeId} disconnected from replica ${pending.replicaId}`),
      );
    }
  }

  // ---- request / reply between replicas ----

  private request(
    replicaId: string,
    nodeId: string,
    body: RequestBody,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const { redis, keys } = this.options;
    const id = randomUUID();
    const from = this.options.replicaId;
    if (signal?.aborted) return Promise.reject(new ProtocolError("cancelled", "the call was cancelled"));
    return new Promise<unknown>((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.pending.delete(id);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new ProtocolError("deadline_exceeded", `node ${nodeId} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = () => {
        cleanup();
        const reason = typeof signal?.reason === "string" ? signal.reason : "cancelled";
        void redis.publish(keys.rpc(replicaId), JSON.stringify({ op: "cancel", id, from, reason })).catch(() => {});
        reject(new ProtocolError("cancelled", "the call was cancelled"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pending.set(id, {
        replicaId,
        nodeId,
        resolve: (value) => {
          cleanup();
          resolve(value);
        },
        reject: (error) => {
          cleanup();
          reject(error);
        },
      });
      redis
        .publish(keys.rpc(replicaId), JSON.stringify({ ...body, id, from, nodeId }))
        .then((receivers) => {
          // Nobody subscribed: that replica is gone (its entry has not expired yet).
          if (receivers === 0)
            this.pending.get(id)?.reject(new ProtocolError("node_offline", `replica ${replicaId} is unreachable`));
        })
        .catch((error: unknown) =>
          this.pending.get(id)?.reject(new ProtocolError("node_offline", `Redis: ${String(error)}`)),
        );
    });
  }

  private onReply(message: string): void {
    const parsed = parseMessage(Reply, message);
    if (!parsed) return;
    const pending = this.pending.get(parsed.id);
    if (!pending) return;
    if (parsed.ok) pending.resolve(parsed.result);
    else {
      const { code, message: text, data } = parsed.error;
      // fromWire maps an unknown code to "internal".
      pending.reject(ProtocolError.fromWire({ code: 0, message: text, data: { ...data, code } as { code: never } }));
    }
  }

  private async onRequest(message: string): Promise<void> {
    const request = parseMessage(Request, message);
    if (!request) return;
    const servingKey = `${request.from}:${request.id}`;
    if (request.op === "cancel") {
      this.serving.get(servingKey)?.abort(request.reason);
      return;
    }
    const controller = new AbortController();
    this.serving.set(servingKey, controller);
    let reply: z.infer<typeof Reply>;
    try {
      let result: unknown;
      if (request.op === "callTool") {
        result = await this.local.callTool(request.nodeId, request.call as CallToolParams, {
          signal: controller.signal,
        });
      } else if (request.op === "syncMcp") {
        result = (await this.local.syncMcp(request.nodeId, request.specs as McpServerSpec[])) ?? null;
      } else if (request.op === "mcpServerOp") {
        result = await this.local.mcpServerOp(request.nodeId, McpServerOp.parse(request.mcp));
      } else {
        result = await this.local.disconnect(request.nodeId, request.code, request.reason);
      }
      reply = { id: request.id, ok: true, result };
    } catch (error) {
      const protocolError = error instanceof ProtocolError ? error : new ProtocolError("internal", String(error));
      reply = {
        id: request.id,
        ok: false,
        error: {
          code: protocolError.code,
          message: protocolError.message,
          ...(protocolError.data ? { data: protocolError.data } : {}),
        },
      };
    } finally {
      this.serving.delete(servingKey);
    }
    await this.options.redis.publish(this.options.keys.replies(request.from), JSON.stringify(reply)).catch(() => {});
  }
}

/** Messages from other replicas are checked like socket frames: a bad one is dropped, never thrown. */
function parseMessage<T>(schema: z.ZodType<T>, text: string): T | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
