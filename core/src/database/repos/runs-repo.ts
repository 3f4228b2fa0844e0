import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { dialectOf } from "../connection.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJson, toJson } from "../json.ts";
import type { Database, RunStatus } from "../schema.ts";
import {
  ACTIVE_RUN_STATUSES,
  type ActiveRunStatus,
  type ApprovalDecision,
  FINAL_RUN_STATUSES,
  LIVE_RUN_STATUSES,
  type LiveRunStatus,
  type NewChildRun,
  type NewRun,
  type PendingApproval,
  RUN_STATUSES,
  type Run,
  type RunFinish,
  type RunListQuery,
} from "../types.ts";
import { runListQuery } from "./runs-list-query.ts";
import { pruneFinishedRuns } from "./runs-prune.ts";
import { toRun, ZERO_USAGE } from "./runs-row.ts";

const NON_FINAL: RunStatus[] = ["queued", ...ACTIVE_RUN_STATUSES];

/**
 * Runs and their lifecycle. Every transition is one conditional UPDATE (`WHERE status IN …`), so
 * the database arbitrates races between the executor, a cancel request and crash recovery: a final
 * status is never overwritten, whoever comes second gets `undefined`/`false`.
 */
export class RunsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** A queued run. Throws DatabaseError `invalid_reference` for an unknown job. */
  async create(input: NewRun): Promise<Run> {
    const row = await translateConstraint(`run of job ${input.jobId}`, () =>
      this.db
        .insertInto("runs")
        .values({
          id: input.id ?? newId(),
          job_id: input.jobId,
          trigger: input.trigger,
          status: "queued",
          input: input.input === undefined || input.input === null ? null : toJson(input.input),
          output: null,
          error: null,
          created_at: isoNow(this.clock),
          started_at: null,
          finished_at: null,
          owner: null,
          usage: toJson(ZERO_USAGE),
          cancel_requested_at: null,
          webhook: input.webhook ? toJson(input.webhook) : null,
          chain_depth: input.chainDepth ?? 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toRun(row);
  }

  /**
   * The children of a fan-out run, one per target Node, all `queued` and in this order. Only the
   * parent's executor starts them (`claim`); `claimNext` passes children over, and the cluster
   * queue never hears of them, so none runs twice.
   */
  async createChildren(parent: Run, children: NewChildRun[]): Promise<Run[]> {
    if (children.length === 0) return [];
    const now = isoNow(this.clock);
    const input = parent.input === undefined || parent.input === null ? null : toJson(parent.input);
    const rows = children.map((c) => ({
      id: newId(),
      job_id: parent.jobId,
      trigger: parent.trigger,
      status: "queued" as const,
      input,
      output: null,
      error: null,
      created_at: now,
      started_at: null,
      finished_at: null,
      owner: null,
      usage: toJson(ZERO_USAGE),
      cancel_requested_at: null,
      parent_run_id: parent.id,
      node_id: c.nodeId,
      node_name: c.nodeName,
    }));
    const out: Run[] = [];
    // Batches keep each INSERT under SQLite's and PostgreSQL's bound-parameter limits.
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200);
      const inserted = await translateConstraint(`children of run ${parent.id}`, () =>
        this.db.insertInto("runs").values(batch).returningAll().execute(),
      );
      const byId = new Map(inserted.map((r) => [r.id, r]));
      for (const r of batch) out.push(toRun(byId.get(r.id)!));
    }
    return out;
  }

  /** Queued children of a parent become cancelled (the parent ended first); returns how many. */
  async cancelQueuedChildren(parentRunId: string, reason: string): Promise<number> {
    const r = await this.db
      .updateTable("runs")
      .set({ status: "cancelled", finished_at: isoNow(this.clock), error: reason })
      .where("parent_run_id", "=", parentRunId)
      .where("status", "=", "queued")
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** A fan-out run's children, in the order they were started. */
  async listChildren(parentRunId: string): Promise<Run[]> {
    const rows = await this.db
      .selectFrom("runs")
      .selectAll()
      .where("parent_run_id", "=", parentRunId)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
    return rows.map(toRun);
  }

  async get(id: string): Promise<Run | undefined> {
    const row = await this.db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toRun(row);
  }

  /** Newest first (runs-list-query.ts). */
  async list(query: RunListQuery = {}): Promise<Run[]> {
    const rows = await runListQuery(this.db, query).execute();
    return rows.map(toRun);
  }

  /** Retention (FABRICORE_RUN_RETENTION_DAYS): finished runs that ended before `before`, `batch` at a
   * time, a fan-out's children with their parent (runs-prune.ts). Returns how many runs went. */
  async pruneFinishedBefore(before: string, batch = 500): Promise<number> {
    return pruneFinishedRuns(this.db, before, batch);
  }

  /**
   * Moves the oldest queued run to `running` for `owner` in one statement. SQLite: an UPDATE runs
   * under the database write lock, so the subquery and the update are one atomic step even across
   * processes. PostgreSQL: FOR UPDATE SKIP LOCKED makes concurrent claimers pass over a row another
   * claimer holds instead of queueing behind it, and the outer `status = 'queued'` re-check means a
   * row claimed meanwhile is never claimed twice.
   */
  async claimNext(owner: string): Promise<Run | undefined> {
    const now = isoNow(this.clock);
    const oldest = this.db
      .selectFrom("runs")
      .select("id")
      .where("status", "=", "queued")
      .where("parent_run_id", "is", null)
      .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", now)]))
      .orderBy("created_at")
      .orderBy("id")
      .limit(1);
    const pick = dialectOf(this.db) === "postgres" ? oldest.forUpdate().skipLocked() : oldest;
    const row = await this.db
      .updateTable("runs")
      .set({ status: "running", owner, started_at: now })
      .where("id", "=", pick)
      .where("status", "=", "queued")
      .returningAll()
      .executeTakeFirst();
    return row && toRun(row);
  }

  /**
   * queued → running for this one run, for `owner`. Cluster mode: BullMQ says which run to start,
   * the row decides whether it still may (not started elsewhere, not cancelled); undefined when not.
   */
  async claim(id: string, owner: string): Promise<Run | undefined> {
    const now = isoNow(this.clock);
    const row = await this.db
      .updateTable("runs")
      .set({ status: "running", owner, started_at: now })
      .where("id", "=", id)
      .where("status", "=", "queued")
      // A run waiting for its Nodes (RunWaitsRepo.park) is not due before `not_before`.
      .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", now)]))
      .returningAll()
      .executeTakeFirst();
    return row && toRun(row);
  }

  /** running ↔ waiting_approval; false when the run is not active any more (finished, cancelled). */
  async setStatus(id: string, status: ActiveRunStatus): Promise<boolean> {
    const r = await this.db
      .updateTable("runs")
      .set({ status })
      .where("id", "=", id)
      .where("status", "in", [...ACTIVE_RUN_STATUSES])
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * running → waiting_approval with the call it waits on; any earlier decision is cleared. False
   * when the run is not running any more (cancelled, finished).
   */
  async beginApproval(id: string, pending: PendingApproval): Promise<boolean> {
    const r = await this.db
      .updateTable("runs")
      .set({ status: "waiting_approval", pending_approval: toJson(pending), approval_decision: null })
      .where("id", "=", id)
      .where("status", "in", [...ACTIVE_RUN_STATUSES])
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * Records approve/deny for the pending approval `approvalId`, once: false when the run is not
   * waiting on that approval or someone already decided.
   */
  async decideApproval(id: string, decision: ApprovalDecision): Promise<boolean> {
    const run = await this.get(id);
    if (run?.status !== "waiting_approval" || run.pendingApproval?.id !== decision.approvalId) return false;
    const r = await this.db
      .updateTable("runs")
      .set({ approval_decision: toJson(decision) })
      .where("id", "=", id)
      .where("status", "=", "waiting_approval")
      .where("pending_approval", "=", toJson(run.pendingApproval))
      .where("approval_decision", "is", null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** The decision on `approvalId`, if one was recorded. */
  async approvalDecision(id: string, approvalId: string): Promise<ApprovalDecision | undefined> {
    const row = await this.db.selectFrom("runs").select(["approval_decision"]).where("id", "=", id).executeTakeFirst();
    const decision = parseJson<ApprovalDecision>(row?.approval_decision ?? null, "runs.approval_decision");
    return decision?.approvalId === approvalId ? decision : undefined;
  }

  /** waiting_approval → running, the pending call cleared (the decision stays, for the record). */
  async endApproval(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable("runs")
      .set({ status: "running", pending_approval: null })
      .where("id", "=", id)
      .where("status", "=", "waiting_approval")
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** To a final status, only from a non-final one; undefined when it was already final (or unknown). */
  async finish(id: string, result: RunFinish): Promise<Run | undefined> {
    if (!(FINAL_RUN_STATUSES as readonly string[]).includes(result.status)) {
      throw new TypeError(`finish needs a final status, got ${result.status}`);
    }
    const row = await this.db
      .updateTable("runs")
      .set({
        status: result.status,
        finished_at: isoNow(this.clock),
        pending_approval: null,
        ...(result.output !== undefined ? { output: result.output } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
        ...(result.usage !== undefined ? { usage: toJson(result.usage) } : {}),
        ...(result.result !== undefined ? { result: result.result === null ? null : toJson(result.result) } : {}),
      })
      .where("id", "=", id)
      .where("status", "in", NON_FINAL)
      .returningAll()
      .executeTakeFirst();
    return row && toRun(row);
  }

  /** queued → cancelled at once; true when this call cancelled it. */
  async cancelQueued(id: string, reason = "cancelled before it started"): Promise<boolean> {
    const r = await this.db
      .updateTable("runs")
      .set({ status: "cancelled", finished_at: isoNow(this.clock), error: reason })
      .where("id", "=", id)
      .where("status", "=", "queued")
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /**
   * Asks for a cancel: a queued run is cancelled at once; an active one gets `cancel_requested_at`
   * for its owner (possibly another replica) to see and abort. Returns the run as it now stands,
   * undefined when unknown. A finished run is returned unchanged.
   */
  async requestCancel(id: string): Promise<Run | undefined> {
    if (await this.cancelQueued(id)) return this.get(id);
    await this.db
      .updateTable("runs")
      .set({ cancel_requested_at: isoNow(this.clock) })
      .where("id", "=", id)
      .where("status", "in", [...ACTIVE_RUN_STATUSES])
      .where("cancel_requested_at", "is", null)
      .execute();
    return this.get(id);
  }

  /**
   * Crash recovery: every running/waiting_approval run (of `owner`, or of anyone) becomes failed with
   * `reason`. Queued runs stay queued and will be claimed again. Returns the ids it failed.
   */
  async failStale(options: { owner?: string; reason: string }): Promise<string[]> {
    let q = this.db
      .updateTable("runs")
      .set({ status: "failed", error: options.reason, finished_at: isoNow(this.clock), pending_approval: null })
      .where("status", "in", [...ACTIVE_RUN_STATUSES]);
    if (options.owner !== undefined) q = q.where("owner", "=", options.owner);
    const rows = await q.returning("id").execute();
    const ids = rows.map((r) => r.id);
    // Children a failed fan-out parent had not started yet would otherwise wait forever.
    for (const id of ids) await this.cancelQueuedChildren(id, `its parent run failed: ${options.reason}`);
    return ids;
  }

  /** Distinct owners of running/waiting_approval runs (cluster mode: checked against live replicas). */
  async activeOwners(): Promise<string[]> {
    const rows = await this.db
      .selectFrom("runs")
      .select("owner")
      .distinct()
      .where("status", "in", [...ACTIVE_RUN_STATUSES])
      .where("owner", "is not", null)
      .execute();
    return rows.map((r) => r.owner).filter((o): o is string => o !== null);
  }

  /** Of these runs, the active ones with a cancel request (for the replica executing them). */
  async cancelRequested(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("runs")
      .select("id")
      .where("id", "in", ids)
      .where("status", "in", [...ACTIVE_RUN_STATUSES])
      .where("cancel_requested_at", "is not", null)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Runs created at or after `since`, per status (every status present, 0 when none). */
  async countByStatusSince(since: string): Promise<Record<RunStatus, number>> {
    const rows = await this.db
      .selectFrom("runs")
      .select((eb) => ["status", eb.fn.countAll<number | string | bigint>().as("n")])
      .where("created_at", ">=", since)
      .groupBy("status")
      .execute();
    const out = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
    // PostgreSQL's count(*) is bigint, delivered by pg as a string.
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /** Runs now queued, running or waiting for approval, per status (the /metrics gauges). */
  async countLive(): Promise<Record<LiveRunStatus, number>> {
    const rows = await this.db
      .selectFrom("runs")
      .select((eb) => ["status", eb.fn.countAll<number | string | bigint>().as("n")])
      .where("status", "in", [...LIVE_RUN_STATUSES])
      .groupBy("status")
      .execute();
    const out = Object.fromEntries(LIVE_RUN_STATUSES.map((s) => [s, 0])) as Record<LiveRunStatus, number>;
    for (const r of rows) if (r.status in out) out[r.status as LiveRunStatus] = Number(r.n);
    return out;
  }

  /** Deletes a job's runs (their steps cascade); returns how many. */
  async deleteForJob(jobId: string): Promise<number> {
    const r = await this.db.deleteFrom("runs").where("job_id", "=", jobId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
