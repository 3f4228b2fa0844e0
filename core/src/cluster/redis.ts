import { Redis } from "ioredis";

/**
 * One place that opens Redis connections and names keys. BullMQ needs `maxRetriesPerRequest: null`
 * on the connections its workers block on; pub/sub needs a connection of its own (a subscribed
 * ioredis connection accepts no other command).
 */
export function openRedis(url: string, name: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    connectionName: name,
    // Reconnect forever with a capped delay: a Redis restart must not kill a replica.
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
}

/** Every key and channel of one cluster, under FABRICORE_REDIS_PREFIX. */
export class ClusterKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** BullMQ's own key prefix (its queues are `<prefix>:bull:<queue>:…`). */
  get bull(): string {
    return `${this.prefix}:bull`;
  }

  replica(replicaId: string): string {
    return `${this.prefix}:replica:${replicaId}`;
  }

  get replicaPattern(): string {
    return `${this.prefix}:replica:*`;
  }

  node(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}`;
  }

  get nodePattern(): string {
    return `${this.prefix}:node:*`;
  }

  get cronLastFire(): string {
    return `${this.prefix}:cron:last-fire`;
  }

  get cronLastMisfire(): string {
    return `${this.prefix}:cron:last-misfire`;
  }

  /** Pub/sub: live run events, node presence changes, JSON-RPC to one replica. */
  get runEvents(): string {
    return `${this.prefix}:run-events`;
  }

  get presence(): string {
    return `${this.prefix}:presence`;
  }

  /** JSON-RPC to one replica (requests, answers and cancels; see redis-rpc-transport.ts). */
  rpc(replicaId: string): string {
    return `${this.prefix}:rpc:${replicaId}`;
  }
}

/** All keys matching a pattern, without blocking Redis (SCAN, not KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}
