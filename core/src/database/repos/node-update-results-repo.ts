import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import type { Database } from "../schema.ts";

/** The last update outcome a Node reported (`fabricore/node/update-result`), as GET /api/nodes shows it. */
export interface NodeUpdateResult {
  outcome: "updated" | "refused" | "rolled_back" | "failed";
  from: string;
  to: string;
  code: string | null;
  reason: string | null;
  /** When it happened on the Node. */
  at: string;
  receivedAt: string;
}

/** One row per Node (0032), replaced by each report: the Nodes page shows the latest only. */
export class NodeUpdateResultsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  async record(nodeId: string, result: Omit<NodeUpdateResult, "receivedAt">): Promise<void> {
    const values = {
      outcome: result.outcome,
      from_version: result.from,
      to_version: result.to,
      code: result.code,
      reason: result.reason,
      at: result.at,
      received_at: isoNow(this.clock),
    };
    await this.db
      .insertInto("node_update_results")
      .values({ node_id: nodeId, ...values })
      .onConflict((oc) => oc.column("node_id").doUpdateSet(values))
      .execute();
  }

  /** By node id: every Node's, or those of `nodeIds`. */
  async byNode(nodeIds?: readonly string[]): Promise<Map<string, NodeUpdateResult>> {
    if (nodeIds?.length === 0) return new Map();
    let q = this.db.selectFrom("node_update_results").selectAll();
    if (nodeIds) q = q.where("node_id", "in", [...nodeIds]);
    const rows = await q.execute();
    return new Map(
      rows.map((r) => [
        r.node_id,
        {
          outcome: r.outcome as NodeUpdateResult["outcome"],
          from: r.from_version,
          to: r.to_version,
          code: r.code,
          reason: r.reason,
          at: r.at,
          receivedAt: r.received_at,
        },
      ]),
    );
  }
}
