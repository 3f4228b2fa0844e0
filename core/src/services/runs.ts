import type { AuditRepo, JobsRepo, RunDeliveriesRepo, RunsRepo, StepsRepo } from "../database/index.ts";
import type { Job, NewRun, Run, RunListQuery, RunTrigger } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import type { Metrics } from "../metrics.ts";
import type { ApprovalGate } from "../runs/approval-gate.ts";
import { childView, fanOutSummary } from "../runs/fan-out.ts";
import type { RunEventBus } from "../runs/run-events.ts";
import type { RunQueue } from "../runs/run-queue.ts";
import { type RunErrorCode, runErrorCode } from "../runs/run-targets.ts";
import type { Audit, AuditActor } from "./audit.ts";

/** Starting, cancelling and reading runs. A run row is written (queued) before anything else
 * happens, so a crash between trigger and execution loses nothing. */
export class Runs {
  private readonly deps: {
    runs: RunsRepo;
    steps: StepsRepo;
    jobs: JobsRepo;
    queue: RunQueue;
    events: RunEventBus;
    metrics: Metrics;
    audit?: Audit;
    /** Read back for `cancelledBy` (who cancelled a run is its `run.cancel` entry). */
    auditLog?: Pick<AuditRepo, "list">;
    approvals?: Pick<ApprovalGate, "notify">;
    deliveries?: Pick<RunDeliveriesRepo, "listForRun">;
  };

  constructor(deps: Runs["deps"]) {
    this.deps = deps;
  }

  /** `by`: who started it (a user, `webhook:<slug>`); a cron start is recorded as `cron`.
   * `extra`: a run id chosen beforehand, the webhook delivery, the chain depth. */
  async start(
    job: Job,
    trigger: RunTrigger,
    input?: unknown,
    by?: AuditActor,
    extra: Pick<NewRun, "id" | "webhook" | "chainDepth"> = {},
  ): Promise<Run> {
    const run = await this.deps.runs.create({ jobId: job.id, trigger, input, ...extra });
    await this.deps.audit?.record({
      actor: by?.actor ?? trigger,
      ip: by?.ip ?? null,
      action: "run.start",
      target: run.id,
      detail: { jobId: job.id, job: job.name, trigger },
    });
    await this.deps.queue.enqueue(run.id);
    return run;
  }

  /**
   * Approve or deny the call a run is waiting on. `approvalId`, when given, must be the pending
   * one (so a decision made on a stale page cannot approve a different call). 409 when the run is
   * not waiting or someone decided first.
   */
  async decide(
    runId: string,
    decision: { approved: boolean; reason?: string | undefined; approvalId?: string | undefined },
    by: AuditActor,
  ): Promise<Run> {
    const run = await this.get(runId);
    const pending = run.pendingApproval;
    if (run.status !== "waiting_approval" || !pending) {
      throw new CoreError("conflict", `run is ${run.status}, not waiting for approval`);
    }
    if (decision.approvalId !== undefined && decision.approvalId !== pending.id) {
      throw new CoreError("conflict", "that approval is no longer pending (the run moved on)");
    }
    const ok = await this.deps.runs.decideApproval(run.id, {
      approvalId: pending.id,
      approved: decision.approved,
      reason: decision.reason ?? null,
      by: by.actor,
      at: new Date().toISOString(),
    });
    if (!ok) throw new CoreError("conflict", "the approval was already decided or the run moved on");
    await this.deps.audit?.record({
      actor: by.actor,
      ip: by.ip ?? null,
      action: decision.approved ? "run.approve" : "run.deny",
      target: run.id,
      detail: { approvalId: pending.id, tool: pending.tool, node: pending.node, reason: decision.reason ?? null },
    });
    this.deps.approvals?.notify(run.id);
    return this.get(run.id);
  }

  async cancel(runId: string, by?: AuditActor): Promise<Run> {
    const run = await this.get(runId);
    if (run.status !== "queued" && run.status !== "running" && run.status !== "waiting_approval") {
      throw new CoreError("conflict", `run is already ${run.status}`);
    }
    // Recorded before acting: the entry is where `cancelledBy` comes from, and the executor may
    // finish the run as cancelled before this call returns.
    await this.deps.audit?.record({
      actor: by?.actor ?? "system",
      ip: by?.ip ?? null,
      action: "run.cancel",
      target: run.id,
      detail: { jobId: run.jobId, was: run.status },
    });
    if (run.status === "queued") {
      await this.deps.runs.finish(run.id, { status: "cancelled", error: "cancelled before it started" });
    } else {
      // Executing here: abort it; the executor records "cancelled". Executing elsewhere (another
      // replica): the request is stored and that replica's executor sees it.
      if (!this.deps.queue.abortLocal(run.id, "cancelled by a user")) await this.deps.runs.requestCancel(run.id);
    }
    const after = await this.get(runId);
    if (after.status === "cancelled") {
      this.deps.events.publish(run.id, { type: "status", status: "cancelled", error: after.error });
      this.deps.events.publish(run.id, { type: "done", status: "cancelled" });
    }
    return after;
  }

  async get(runId: string): Promise<Run> {
    const run = await this.deps.runs.get(runId);
    if (!run) throw new CoreError("not_found", `run ${runId} not found`);
    return run;
  }

  /** The user who cancelled the run; null when the Core did (a parent failed, a budget) or the log is not read here. */
  private async cancelledBy(runId: string): Promise<string | null> {
    const entries = await this.deps.auditLog?.list({ action: "run.cancel", target: runId, limit: 1 });
    return entries?.[0]?.actor ?? null;
  }

  /** A fan-out parent also lists its children (CONTRACT "Fleet jobs") and counts them. */
  async view(runId: string) {
    const run = await this.get(runId);
    const steps = await this.deps.steps.list(run.id);
    const deliveries = (await this.deps.deliveries?.listForRun(run.id)) ?? [];
    const view = {
      ...withErrorCode(run),
      cancelledBy: run.status === "cancelled" ? await this.cancelledBy(run.id) : null,
      steps: steps.map((s) => ({ seq: s.seq, at: s.createdAt, ...s.data, type: s.type })),
      // CONTRACT: `deliveries: [{channel, event, status, attempts, lastError}]`, plus when.
      deliveries: deliveries.map((d) => ({
        id: d.id,
        channel: d.channel,
        channelId: d.channelId,
        kind: d.kind,
        event: d.event,
        status: d.status,
        attempts: d.attempts,
        lastError: d.lastError,
        nextAttemptAt: d.status === "pending" ? d.nextAttemptAt : null,
        deliveredAt: d.deliveredAt,
        createdAt: d.createdAt,
      })),
    };
    if (run.parentRunId !== null) return view;
    const children = await this.deps.runs.listChildren(run.id);
    if (children.length === 0 && !(await this.deps.jobs.get(run.jobId))?.fanOut) return view;
    return { ...view, children: children.map(childView), summary: fanOutSummary(children) };
  }

  /** Each run with the models and Nodes its steps used (the runs list's columns, issue 22.4). */
  async list(query: RunListQuery) {
    const runs = await this.deps.runs.list(query);
    const used = await this.deps.steps.summaries(runs.map((r) => r.id));
    return runs.map((run) => {
      const summary = used.get(run.id);
      const nodes = summary?.nodes ?? [];
      return {
        ...withErrorCode(run),
        models: summary?.models ?? [],
        nodes: run.nodeName && !nodes.includes(run.nodeName) ? [run.nodeName, ...nodes] : nodes,
      };
    });
  }
}

/** `errorCode`: the stable code of a failure a client acts on (`nodes_offline`, `no_targets`), else null. */
function withErrorCode(run: Run): Run & { errorCode: RunErrorCode | null } {
  return { ...run, errorCode: run.status === "failed" ? runErrorCode(run.error) : null };
}
