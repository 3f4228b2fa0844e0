import type { SystemStats } from "@fabricore/protocol";
import type { NodeStatsPoint } from "../database/repos/index.ts";

/** A sparkline point per 5 minutes, kept for a day (issue 22.5). */
export const STATS_BUCKET_MS = 5 * 60_000;
export const STATS_KEEP_MS = 24 * 3600_000;

type Field = "cpuPercent" | "memoryPercent" | "diskPercent" | "load1";
const FIELDS: readonly Field[] = ["cpuPercent", "memoryPercent", "diskPercent", "load1"];

/** The four numbers a sparkline shows, from a heartbeat's (partial) stats; null when not sent. */
export function sampleOf(stats: Partial<SystemStats>): Record<Field, number | null> {
  const memory = stats.memory;
  const used = memory ? memory.totalBytes - (memory.availableBytes || memory.freeBytes) : null;
  const disks = stats.disks ?? [];
  return {
    cpuPercent: stats.cpu?.usagePercent ?? null,
    memoryPercent: memory && memory.totalBytes > 0 && used !== null ? (used / memory.totalBytes) * 100 : null,
    diskPercent: disks.length ? Math.max(...disks.map((d) => d.usedPercent)) : null,
    load1: stats.loadAverage?.[0] ?? null,
  };
}

interface Bucket {
  start: number;
  sums: Record<Field, number>;
  counts: Record<Field, number>;
  samples: number;
  lastWrite: number;
  dirty: boolean;
}

export interface NodeStatsRecorderOptions {
  repo: {
    upsert(nodeId: string, point: NodeStatsPoint): Promise<void>;
    pruneBefore(before: string): Promise<number>;
  };
  onError(error: unknown, nodeId: string | null): void;
  now?: () => number;
  /** A bucket's running mean is rewritten at most this often (its first sample at once). */
  flushEveryMs?: number;
}

/**
 * Turns heartbeats (every 10 s per Node) into one row per Node per 5 minutes: the bucket's mean,
 * written when its first sample arrives (so a new Node's page shows a point at once), then at most
 * once a minute, and a last time when the next bucket begins. ~3 writes a second for 200 Nodes
 * instead of 20. Old rows are pruned at most once an hour, when a bucket rolls over.
 */
export class NodeStatsRecorder {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly flushEveryMs: number;
  private lastPrune = 0;
  private readonly options: NodeStatsRecorderOptions;

  constructor(options: NodeStatsRecorderOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.flushEveryMs = options.flushEveryMs ?? 60_000;
  }

  record(nodeId: string, stats: Partial<SystemStats>): void {
    const now = this.now();
    const start = Math.floor(now / STATS_BUCKET_MS) * STATS_BUCKET_MS;
    let bucket = this.buckets.get(nodeId);
    let first = false;
    if (!bucket || bucket.start !== start) {
      if (bucket?.dirty) this.write(nodeId, bucket, now);
      bucket = { start, sums: zeros(), counts: zeros(), samples: 0, lastWrite: 0, dirty: false };
      this.buckets.set(nodeId, bucket);
      first = true;
      this.maybePrune(now);
    }
    const sample = sampleOf(stats);
    for (const field of FIELDS) {
      const value = sample[field];
      if (value === null || !Number.isFinite(value)) continue;
      bucket.sums[field] += value;
      bucket.counts[field] += 1;
    }
    bucket.samples += 1;
    bucket.dirty = true;
    if (first || now - bucket.lastWrite >= this.flushEveryMs) this.write(nodeId, bucket, now);
  }

  /** A Node that went away: its bucket so far is written, and forgotten here. */
  forget(nodeId: string): void {
    const bucket = this.buckets.get(nodeId);
    if (bucket?.dirty) this.write(nodeId, bucket, this.now());
    this.buckets.delete(nodeId);
  }

  /** Writes every bucket not written since its last sample (the Core is stopping). */
  async flushAll(): Promise<void> {
    const writes = [];
    for (const [nodeId, bucket] of this.buckets) if (bucket.dirty) writes.push(this.write(nodeId, bucket, this.now()));
    await Promise.all(writes);
  }

  private write(nodeId: string, bucket: Bucket, now: number): Promise<void> {
    bucket.lastWrite = now;
    bucket.dirty = false;
    const mean = (field: Field) => (bucket.counts[field] ? round(bucket.sums[field] / bucket.counts[field]) : null);
    const point: NodeStatsPoint = {
      at: new Date(bucket.start).toISOString(),
      cpuPercent: mean("cpuPercent"),
      memoryPercent: mean("memoryPercent"),
      diskPercent: mean("diskPercent"),
      load1: mean("load1"),
      samples: bucket.samples,
    };
    return this.options.repo.upsert(nodeId, point).catch((error: unknown) => this.options.onError(error, nodeId));
  }

  private maybePrune(now: number): void {
    if (now - this.lastPrune < 3600_000) return;
    this.lastPrune = now;
    this.options.repo
      .pruneBefore(new Date(now - STATS_KEEP_MS).toISOString())
      .catch((error: unknown) => this.options.onError(error, null));
  }
}

const zeros = (): Record<Field, number> => ({ cpuPercent: 0, memoryPercent: 0, diskPercent: 0, load1: 0 });
const round = (n: number) => Math.round(n * 100) / 100;
