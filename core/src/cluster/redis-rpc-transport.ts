import {
  type CloseInfo,
  type JsonRpcMessage,
  type Logger,
  parseJsonRpcMessage,
  safeParseJson,
  type Transport,
} from "@fabricore/protocol";
import type { Redis } from "ioredis";
import { z } from "zod";
import type { RedisSubscriber } from "./redis-subscriber.ts";

/** What travels on a replica's channel: who sent it (so the answer finds its way back) and one
 * JSON-RPC message, checked on arrival as a socket frame is. */
const Envelope = z.object({
  from: z.string().min(1).max(256),
  message: z.unknown().refine((message) => message !== undefined, "no message"),
});

export interface RedisRpcLinkOptions<P> {
  /** A connection for commands (PUBLISH); the subscribed one is given to `start`. */
  redis: Redis;
  /** This replica: it listens on `channel(replicaId)` and signs what it sends with it. */
  replicaId: string;
  channel: (replicaId: string) => string;
  /** Makes the peer that drives the transport to one other replica (called once per replica,
   * before its first message is delivered). */
  makePeer: (transport: Transport, remoteId: string) => P;
  logger?: Logger;
}

/**
 * JSON-RPC between Core replicas over Redis pub/sub. Each replica subscribes to one channel; a
 * message from replica X is routed to the Transport (and peer) this replica keeps for X, made on
 * first use in either direction. Pub/sub has no connection, so a Transport to X closes only when
 * this side closes it; `send` fails when nobody is subscribed to X's channel (X is gone), which
 * the peer reports as it reports a dropped socket.
 */
export class RedisRpcLink<P> {
  private readonly options: RedisRpcLinkOptions<P>;
  private readonly links = new Map<string, { transport: ReplicaTransport; peer: P }>();

  constructor(options: RedisRpcLinkOptions<P>) {
    this.options = options;
  }

  async start(subscriber: RedisSubscriber): Promise<void> {
    await subscriber.subscribe(this.options.channel(this.options.replicaId), (text) => this.receive(text));
  }

  /** The peer for one other replica, made now if there is none. */
  peer(remoteId: string): P {
    return this.link(remoteId).peer;
  }

  /** The peers this replica has now, by replica id. */
  peers(): Array<[string, P]> {
    return [...this.links].map(([id, link]) => [id, link.peer]);
  }

  /** Closes every transport (their peers fail what is pending, as on a dropped connection). */
  async close(code: number, reason: string): Promise<void> {
    await Promise.all([...this.links.values()].map(({ transport }) => transport.close(code, reason)));
  }

  private link(remoteId: string): { transport: ReplicaTransport; peer: P } {
    let link = this.links.get(remoteId);
    if (!link) {
      const { redis, replicaId, channel } = this.options;
      const transport = new ReplicaTransport(redis, replicaId, channel(remoteId), remoteId, () => {
        if (this.links.get(remoteId)?.transport === transport) this.links.delete(remoteId);
      });
      link = { transport, peer: this.options.makePeer(transport, remoteId) };
      this.links.set(remoteId, link);
    }
    return link;
  }

  /** Never throws: a bad message is dropped (or answered, when its sender can be read). */
  private receive(text: string): void {
    const json = safeParseJson(text);
    const envelope = json.ok ? Envelope.safeParse(json.value) : undefined;
    if (!envelope?.success) {
      this.options.logger?.warn(
        { error: json.ok ? envelope?.error.message : json.error, size: text.length },
        "dropped a malformed message from another replica",
      );
      return;
    }
    const { from, message } = envelope.data;
    if (from === this.options.replicaId) return;
    const transport = this.link(from).transport;
    const parsed = parseJsonRpcMessage(message);
    if (parsed.ok) {
      transport.onmessage?.(parsed.message);
      return;
    }
    const id = (message as { id?: unknown } | null)?.id;
    transport.oninvalid?.(parsed.error, typeof id === "string" || typeof id === "number" ? id : null);
  }
}

/** The Transport to one other replica: PUBLISH to its channel. */
class ReplicaTransport implements Transport {
  onmessage?: (message: JsonRpcMessage) => void;
  oninvalid?: (error: string, id: string | number | null) => void;
  onclose?: (info: CloseInfo) => void;
  private closed = false;
  private readonly redis: Redis;
  private readonly from: string;
  private readonly channel: string;
  private readonly remoteId: string;
  private readonly forget: () => void;

  constructor(redis: Redis, from: string, channel: string, remoteId: string, forget: () => void) {
    this.redis = redis;
    this.from = from;
    this.channel = channel;
    this.remoteId = remoteId;
    this.forget = forget;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error(`the transport to replica ${this.remoteId} is closed`);
    const receivers = await this.redis.publish(this.channel, JSON.stringify({ from: this.from, message }));
    // Nobody subscribed: that replica is gone (its presence entries may not have expired yet).
    if (receivers === 0) throw new Error(`replica ${this.remoteId} is unreachable`);
  }

  async close(code = 1000, reason = ""): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    this.onclose?.({ code, reason });
  }
}
