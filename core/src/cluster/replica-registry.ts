import type { Logger } from "@fabricore/protocol";
import type { Redis } from "ioredis";
import { type ClusterKeys, scanKeys } from "./redis.ts";

export interface ReplicaRegistryOptions {
  redis: Redis;
  keys: ClusterKeys;
  /** This replica; also the `owner` it writes on the runs it claims. */
  replicaId: string;
  /** A replica whose key was not refreshed for this long is dead. It refreshes every third of it. */
  ttlMs: number;
  /** Owners of runs the database has as running or waiting for approval. */
  activeRunOwners: () => Promise<string[]>;
  /** Fails the active runs of a dead owner with the reason; returns their ids. */
  failRunsOf: (owner: string, reason: string) => Promise<string[]>;
  logger?: Logger;
}

/**
 * Replica liveness: each replica keeps `<prefix>:replica:<id>` alive with an expiry. On every beat a
 * replica also looks for runs left active by an owner with no live key — a replica that was killed
 * or lost Redis — and fails them with the reason (their model conversation lived in that process's
 * memory and cannot be resumed). The database's conditional UPDATE makes concurrent survivors
 * harmless: each run is failed once.
 */
export class ReplicaRegistry {
  private readonly options: ReplicaRegistryOptions;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly startedAt = new Date().toISOString();
  /** Since when every beat succeeded; undefined while Redis is unreachable. */
  private healthySince: number | undefined;
  private readonly now: () => number;

  constructor(options: ReplicaRegistryOptions & { now?: () => number }) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Registers this replica (before it claims anything) and starts beating. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.tick(), Math.max(200, Math.floor(this.options.ttlMs / 3)));
    this.timer.unref();
  }

  /** Deregisters at once on a clean shutdown (its runs were settled by the queue's stop). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.options.redis.del(this.options.keys.replica(this.options.replicaId)).catch(() => {});
  }

  async alive(): Promise<Set<string>> {
    const { redis, keys } = this.options;
    const prefix = keys.replica("");
    return new Set((await scanKeys(redis, keys.replicaPattern)).map((key) => key.slice(prefix.length)));
  }

  /** One beat plus recovery; public so tests can drive it. */
  async tick(): Promise<string[]> {
    try {
      await this.beat();
      // Only a replica that has been beating for a whole TTL judges the others: after a Redis
      // outage (or its own start) every key may have expired, and the live replicas need one TTL
      // to register again — failing their runs before that would kill healthy work.
      if (this.now() - (this.healthySince ?? this.now()) < this.options.ttlMs) return [];
      return await this.recover();
    } catch (error) {
      this.healthySince = undefined;
      this.options.logger?.warn({ err: error }, "replica heartbeat failed; will retry");
      return [];
    }
  }

  private async beat(): Promise<void> {
    const { redis, keys, replicaId, ttlMs } = this.options;
    await redis.set(keys.replica(replicaId), JSON.stringify({ replicaId, startedAt: this.startedAt }), "PX", ttlMs);
    this.healthySince ??= this.now();
  }

  private async recover(): Promise<string[]> {
    const owners = await this.options.activeRunOwners();
    if (owners.length === 0) return [];
    const alive = await this.alive();
    const failed: string[] = [];
    for (const owner of owners) {
      if (owner === this.options.replicaId || alive.has(owner)) continue;
      const ids = await this.options.failRunsOf(
        owner,
        `the Core replica executing this run (${owner}) stopped (crash, kill or lost Redis); start it again`,
      );
      if (ids.length) this.options.logger?.warn({ owner, runs: ids }, "failed the runs of a dead replica");
      failed.push(...ids);
    }
    return failed;
  }
}
