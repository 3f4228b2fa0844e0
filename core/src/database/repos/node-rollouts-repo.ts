import type { Kysely, Selectable } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { DatabaseError, isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, NodeRolloutNodesTable, NodeRolloutsTable } from "../schema.ts";

export const ROLLOUT_STATES = ["running", "paused", "completed", "cancelled"] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const ROLLOUT_NODE_STATES = [
  "pending",
  "updating",
  "updated",
  "refused",
  "rolled_back",
  "failed",
  "timeout",
  "offline_skipped",
  "cancelled",
] as const;
export type RolloutNodeState = (typeof ROLLOUT_NODE_STATES)[number];

/** A Node in these states is done with the rollout. */
export const FINAL_NODE_STATES: ReadonlySet<RolloutNodeState> = new Set([
  "updated",
  "refused",
  "rolled_back",
  "failed",
  "timeout",
  "offline_skipped",
  "cancelled",
]);
/** These count against a batch's `maxFailures` (an offline Node is skipped, not failed). */
export const FAILED_NODE_STATES: ReadonlySet<RolloutNodeState> = new Set([
  "refused",
  "rolled_back",
  "failed",
  "timeout",
]);

export type RolloutTarget = { nodeIds: string[] } | { selector: string };

export interface RolloutNode {
  nodeId: string;
  name: string;
  /** 1-based. */
  batch: number;
  position: number;
  state: RolloutNodeState;
  code: string | null;
  reason: string | null;
  /** The version the Node ran when its batch started. */
  fromVersion: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface NodeRollout {
  id: string;
  version: string;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  deadlineMs: number;
  state: RolloutState;
  reason: string | null;
  /** 1-based; 0 before the first batch started. */
  currentBatch: number;
  batchCount: number;
  batchStartedAt: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  nodes: RolloutNode[];
}

export interface NewRollout {
  version: string;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  deadlineMs: number;
  createdBy: string;
  /** In rollout order; batches are cut from it. */
  nodes: Array<{ nodeId: string; name: string }>;
}

export type RolloutPatch = Partial<
  Pick<NodeRollout, "state" | "reason" | "currentBatch" | "batchStartedAt" | "finishedAt">
>;
export type RolloutNodePatch = Partial<
  Pick<RolloutNode, "state" | "code" | "reason" | "fromVersion" | "startedAt" | "finishedAt">
>;

const isActive = (state: RolloutState) => state === "running" || state === "paused";

/** Staged Node rollouts (0032). Every state change is conditional on the state it leaves, so two
 * replicas (or a report racing a deadline) cannot both move the same row. */
export class NodeRolloutsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** Creates a running rollout at batch 0; `conflict` when another one is active. */
  async create(input: NewRollout): Promise<NodeRollout> {
    const id = newId();
    const now = isoNow(this.clock);
    const batchCount = Math.max(1, Math.ceil(input.nodes.length / input.batchSize));
    try {
      await this.db.transaction().execute(async (tx) => {
        await tx
          .insertInto("node_rollouts")
          .values({
            id,
            version: input.version,
            target: toJson(input.target),
            batch_size: input.batchSize,
            max_failures: input.maxFailures,
            deadline_ms: input.deadlineMs,
            state: "running",
            reason: null,
            active: 1,
            current_batch: 0,
            batch_count: batchCount,
            batch_started_at: null,
            created_by: input.createdBy,
            created_at: now,
            updated_at: now,
            finished_at: null,
          })
          .execute();
        if (input.nodes.length > 0) {
          await tx
            .insertInto("node_rollout_nodes")
            .values(
              input.nodes.map((n, i) => ({
                rollout_id: id,
                node_id: n.nodeId,
                node_name: n.name,
                batch: Math.floor(i / input.batchSize) + 1,
                position: i,
                state: "pending",
                code: null,
                reason: null,
                from_version: null,
                started_at: null,
                finished_at: null,
              })),
            )
            .execute();
        }
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new DatabaseError("conflict", "another Node rollout is running or paused; cancel it first", {
          cause: error,
        });
      throw error;
    }
    const created = await this.get(id);
    if (!created) throw new Error(`rollout ${id} vanished after insert`);
    return created;
  }

  async get(id: string): Promise<NodeRollout | undefined> {
    const row = await this.db.selectFrom("node_rollouts").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? this.withNodes(row) : undefined;
  }

  /** The running or paused rollout, if any (there is at most one). */
  async active(): Promise<NodeRollout | undefined> {
    const row = await this.db.selectFrom("node_rollouts").selectAll().where("active", "=", 1).executeTakeFirst();
    return row ? this.withNodes(row) : undefined;
  }

  /** Newest first, without their Nodes' rows (counts per state instead). */
  async list(limit = 20): Promise<Array<Omit<NodeRollout, "nodes"> & { counts: Record<string, number> }>> {
    const rows = await this.db
      .selectFrom("node_rollouts")
      .selectAll()
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit)
      .execute();
    if (rows.length === 0) return [];
    const counts = await this.db
      .selectFrom("node_rollout_nodes")
      .select(["rollout_id", "state", (eb) => eb.fn.countAll<number>().as("n")])
      .where(
        "rollout_id",
        "in",
        rows.map((r) => r.id),
      )
      .groupBy(["rollout_id", "state"])
      .execute();
    return rows.map((row) => {
      const byState: Record<string, number> = {};
      for (const c of counts) if (c.rollout_id === row.id) byState[c.state] = Number(c.n);
      return { ...toRollout(row), counts: byState };
    });
  }

  /** Applies `patch` when the rollout is still in `from` (and, if given, at batch `atBatch`); true when it did. */
  async update(id: string, patch: RolloutPatch, from: readonly RolloutState[], atBatch?: number): Promise<boolean> {
    const state = patch.state;
    let q = this.db
      .updateTable("node_rollouts")
      .set({
        updated_at: isoNow(this.clock),
        ...(state !== undefined && { state, active: isActive(state) ? 1 : null }),
        ...(patch.reason !== undefined && { reason: patch.reason }),
        ...(patch.currentBatch !== undefined && { current_batch: patch.currentBatch }),
        ...(patch.batchStartedAt !== undefined && { batch_started_at: patch.batchStartedAt }),
        ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
      })
      .where("id", "=", id)
      .where("state", "in", [...from]);
    if (atBatch !== undefined) q = q.where("current_batch", "=", atBatch);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Applies `patch` to one Node of a rollout when it is still in `from`; true when it did. */
  async updateNode(
    rolloutId: string,
    nodeId: string,
    patch: RolloutNodePatch,
    from: readonly RolloutNodeState[],
  ): Promise<boolean> {
    const r = await this.db
      .updateTable("node_rollout_nodes")
      .set({
        ...(patch.state !== undefined && { state: patch.state }),
        ...(patch.code !== undefined && { code: patch.code }),
        ...(patch.reason !== undefined && { reason: patch.reason }),
        ...(patch.fromVersion !== undefined && { from_version: patch.fromVersion }),
        ...(patch.startedAt !== undefined && { started_at: patch.startedAt }),
        ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
      })
      .where("rollout_id", "=", rolloutId)
      .where("node_id", "=", nodeId)
      .where("state", "in", [...from])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Moves every Node of a rollout still in `from` to `patch` (cancel: pending → cancelled). */
  async updateNodesIn(rolloutId: string, patch: RolloutNodePatch, from: readonly RolloutNodeState[]): Promise<number> {
    const r = await this.db
      .updateTable("node_rollout_nodes")
      .set({
        ...(patch.state !== undefined && { state: patch.state }),
        ...(patch.reason !== undefined && { reason: patch.reason }),
        ...(patch.finishedAt !== undefined && { finished_at: patch.finishedAt }),
      })
      .where("rollout_id", "=", rolloutId)
      .where("state", "in", [...from])
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  private async withNodes(row: Selectable<NodeRolloutsTable>): Promise<NodeRollout> {
    const nodes = await this.db
      .selectFrom("node_rollout_nodes")
      .selectAll()
      .where("rollout_id", "=", row.id)
      .orderBy("position")
      .execute();
    return { ...toRollout(row), nodes: nodes.map(toNode) };
  }
}

function toRollout(row: Selectable<NodeRolloutsTable>): Omit<NodeRollout, "nodes"> {
  return {
    id: row.id,
    version: row.version,
    target: parseJsonOr<RolloutTarget>(row.target, "node_rollouts.target", { nodeIds: [] }),
    batchSize: Number(row.batch_size),
    maxFailures: Number(row.max_failures),
    deadlineMs: Number(row.deadline_ms),
    state: row.state as RolloutState,
    reason: row.reason,
    currentBatch: Number(row.current_batch),
    batchCount: Number(row.batch_count),
    batchStartedAt: row.batch_started_at,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

function toNode(row: Selectable<NodeRolloutNodesTable>): RolloutNode {
  return {
    nodeId: row.node_id,
    name: row.node_name,
    batch: Number(row.batch),
    position: Number(row.position),
    state: row.state as RolloutNodeState,
    code: row.code,
    reason: row.reason,
    fromVersion: row.from_version,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
