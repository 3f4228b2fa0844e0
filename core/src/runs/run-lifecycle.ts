import type { Logger } from "@fabricore/protocol";
import { isDatabaseBusy, isStorageFull } from "../database/errors.ts";
import type { RunsRepo } from "../database/index.ts";
import type { PendingApproval, Run, RunFinish } from "../database/types.ts";
import type { RunEventBus } from "./run-events.ts";

export type RunTransition =
  /** The queue claimed it; the claim itself stored `running` (atomically, against other replicas). */
  | { status: "running"; from: "queued" }
  /** Its approval was decided or ran out. `announce: false` while the run is being cancelled: the
   * end that follows is what subscribers should see. */
  | { status: "running"; from: "waiting_approval"; announce?: boolean }
  /** A call waits for a person: stored with the exact call; false when the run is no longer active. */
  | { status: "waiting_approval"; pendingApproval: PendingApproval }
  /** The end: stored only from a non-final status. `retryStorage`: a full disk or a locked
   * database is retried for a while instead of leaving the run `running` until a restart. */
  | (RunFinish & { retryStorage?: boolean });

export interface RunLifecycleDeps {
  runs: Pick<RunsRepo, "finish" | "beginApproval" | "endApproval" | "failStale">;
  events: RunEventBus;
  logger: Pick<Logger, "warn">;
  /** How long `retryStorage` retries storing a run's end (60 s). */
  finishRetryMs?: number;
}

/**
 * Every status change of a run goes through `transition()`: the write and its live `status`
 * event in one place, so what a browser is told is what the database holds. Notifications and
 * chaining stay with the callers, which know whether a change is worth telling anyone about.
 */
export class RunLifecycle {
  private readonly deps: RunLifecycleDeps;

  constructor(deps: RunLifecycleDeps) {
    this.deps = deps;
  }

  /** True when the run moved (a final status: it was not final already). */
  async transition(runId: string, to: RunTransition): Promise<boolean> {
    const { events, runs } = this.deps;
    switch (to.status) {
      case "running":
        if (to.from === "waiting_approval") await runs.endApproval(runId);
        if (to.from === "queued" || to.announce !== false) events.publish(runId, { type: "status", status: "running" });
        return true;
      case "waiting_approval": {
        if (!(await runs.beginApproval(runId, to.pendingApproval))) return false;
        events.publish(runId, { type: "status", status: "waiting_approval", pendingApproval: to.pendingApproval });
        return true;
      }
      default: {
        const { retryStorage, ...fields } = to;
        const moved = retryStorage ? await this.finishRetrying(runId, fields) : await runs.finish(runId, fields);
        if (!moved) return false;
        events.publish(runId, {
          type: "status",
          status: fields.status,
          ...(fields.output !== undefined ? { output: fields.output } : {}),
          ...(fields.error !== undefined ? { error: fields.error } : {}),
        });
        events.publish(runId, { type: "done", status: fields.status });
        return true;
      }
    }
  }

  /** The active runs of a replica that is gone (or of every replica at start) fail with `reason`;
   * the ids of those that did. */
  async failStale(options: { owner?: string; reason: string }): Promise<string[]> {
    const failed = await this.deps.runs.failStale(options);
    for (const runId of failed) {
      this.deps.events.publish(runId, { type: "status", status: "failed", output: null, error: options.reason });
      this.deps.events.publish(runId, { type: "done", status: "failed" });
    }
    return failed;
  }

  /** finish only moves a run out of a non-final status, so retrying it is safe. */
  private async finishRetrying(runId: string, fields: RunFinish): Promise<Run | undefined> {
    const retryForMs = this.deps.finishRetryMs ?? 60_000;
    const startedAt = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deps.runs.finish(runId, fields);
      } catch (error) {
        const transient = isStorageFull(error) || isDatabaseBusy(error);
        if (!transient || Date.now() - startedAt >= retryForMs) throw error;
        if (attempt === 0) this.deps.logger.warn({ err: error, runId }, "cannot record the run's end yet; retrying");
        await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 2_000)));
      }
    }
  }
}
