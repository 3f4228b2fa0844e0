import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";

/** One bucket of a Node's stats: means of its heartbeats in that bucket (null: not reported). */
export interface NodeStatsPoint {
  /** ISO start of the bucket. */
  at: string;
  cpuPercent: number | null;
  memoryPercent: number | null;
  diskPercent: number | null;
  load1: number | null;
  samples: number;
}

/** Node stats over time (0030): written by nodes/node-stats-recorder.ts, read by the Node page. */
export class NodeStatsRepo {
  private readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /** Writes a bucket's values, replacing what an earlier flush of the same bucket wrote. */
  async upsert(nodeId: string, point: NodeStatsPoint): Promise<void> {
    const values = {
      cpu_percent: point.cpuPercent,
      memory_percent: point.memoryPercent,
      disk_percent: point.diskPercent,
      load1: point.load1,
      samples: point.samples,
    };
    await this.db
      .insertInto("node_stats")
      .values({ node_id: nodeId, bucket: point.at, ...values })
      .onConflict((oc) => oc.columns(["node_id", "bucket"]).doUpdateSet(values))
      .execute();
  }

  /** A Node's buckets at or after `since`, oldest first. */
  async history(nodeId: string, since: string): Promise<NodeStatsPoint[]> {
    const rows = await this.db
      .selectFrom("node_stats")
      .selectAll()
      .where("node_id", "=", nodeId)
      .where("bucket", ">=", since)
      .orderBy("bucket")
      .execute();
    return rows.map((r) => ({
      at: r.bucket,
      cpuPercent: r.cpu_percent,
      memoryPercent: r.memory_percent,
      diskPercent: r.disk_percent,
      load1: r.load1,
      samples: Number(r.samples),
    }));
  }

  /** Deletes every bucket before `before`; returns how many. */
  async pruneBefore(before: string): Promise<number> {
    const r = await this.db.deleteFrom("node_stats").where("bucket", "<", before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
