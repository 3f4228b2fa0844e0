import type { Logger } from "@fabricore/protocol";
import type { Redis } from "ioredis";
import type { NodeHub } from "../nodes/node-hub.ts";
import { BullRunQueue, type BullRunQueueOptions } from "./bull-run-queue.ts";
import { BullScheduler, type BullSchedulerOptions } from "./bull-scheduler.ts";
import { ClusterHub } from "./cluster-hub.ts";
import { ClusterKeys, openRedis } from "./redis.ts";
import { RedisRunEventBus } from "./redis-run-event-bus.ts";
import { RedisSubscriber } from "./redis-subscriber.ts";
import { ReplicaRegistry, type ReplicaRegistryOptions } from "./replica-registry.ts";

export interface ClusterOptions {
  redisUrl: string;
  prefix: string;
  /** This replica's id; also the `owner` of the runs it claims. */
  replicaId: string;
  ttlMs: number;
  logger: Logger;
  /** How long start() waits for Redis before giving up. Default 10 s. */
  connectTimeoutMs?: number;
}

/**
 * Cluster mode's collaborators, made from FABRICORE_REDIS_URL: the Redis pub/sub event bus, the
 * cross-replica hub facade, the BullMQ run queue and scheduler, and the replica registry. core.ts
 * builds the same Core around them that it builds around the in-process ones.
 */
export class Cluster {
  readonly keys: ClusterKeys;
  readonly replicaId: string;
  readonly events: RedisRunEventBus;
  private readonly options: ClusterOptions;
  /** Commands and publishing. */
  private readonly redis: Redis;
  /** BullMQ's connection (it duplicates it for its blocking calls). */
  private readonly bull: Redis;
  private readonly subscriber: RedisSubscriber;
  private hub: ClusterHub | undefined;
  private queue: BullRunQueue | undefined;
  private scheduler: BullScheduler | undefined;
  private registry: ReplicaRegistry | undefined;

  constructor(options: ClusterOptions) {
    this.options = options;
    this.keys = new ClusterKeys(options.prefix);
    this.replicaId = options.replicaId;
    this.redis = openRedis(options.redisUrl, `fabricore:${options.replicaId}`);
    this.bull = openRedis(options.redisUrl, `fabricore-bull:${options.replicaId}`);
    this.subscriber = new RedisSubscriber(openRedis(options.redisUrl, `fabricore-sub:${options.replicaId}`));
    const logError = (error: unknown) => options.logger.error({ err: error }, "cluster Redis error");
    // ioredis emits 'error' on every failed reconnect; without listeners that would crash the process.
    for (const connection of [this.redis, this.bull]) connection.on("error", logError);
    this.events = new RedisRunEventBus({ publisher: this.redis, keys: this.keys, onError: logError });
  }

  /** Wraps the local NodeHub: Nodes on every replica, calls routed to the replica holding them. */
  hubFor(local: NodeHub): ClusterHub {
    this.hub = new ClusterHub({
      local,
      redis: this.redis,
      keys: this.keys,
      replicaId: this.replicaId,
      ttlMs: this.options.ttlMs,
      logger: this.options.logger,
    });
    return this.hub;
  }

  runQueue(options: Omit<BullRunQueueOptions, "connection" | "keys">): BullRunQueue {
    this.queue = new BullRunQueue({ ...options, connection: this.bull, keys: this.keys });
    return this.queue;
  }

  cronScheduler(options: Omit<BullSchedulerOptions, "connection" | "keys">): BullScheduler {
    this.scheduler = new BullScheduler({ ...options, connection: this.bull, keys: this.keys });
    return this.scheduler;
  }

  /** Liveness and recovery of the runs of dead replicas. */
  replicas(options: Pick<ReplicaRegistryOptions, "activeRunOwners" | "failRunsOf">): ReplicaRegistry {
    this.registry = new ReplicaRegistry({
      ...options,
      redis: this.redis,
      keys: this.keys,
      replicaId: this.replicaId,
      ttlMs: this.options.ttlMs,
      logger: this.options.logger,
    });
    return this.registry;
  }

  /**
   * Connects and subscribes before the Core serves anything: the event bus must be subscribed when
   * the first browser asks for a run's events; this replica is registered as alive before its
   * queue claims a run (a survivor would otherwise fail that run as orphaned).
   */
  async start(): Promise<void> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`cannot reach Redis (FABRICORE_REDIS_URL) within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.redis.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    await this.events.start(this.subscriber);
    await this.hub?.start(this.subscriber);
    await this.registry?.start();
    this.scheduler?.start();
  }

  /** After the queue and scheduler were stopped (core.ts does that first). */
  async close(): Promise<void> {
    await this.hub?.close();
    await this.registry?.stop();
    await this.subscriber.close();
    this.bull.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
