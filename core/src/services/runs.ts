import { ApiError } from "../api/errors.ts";
import type { JobsRepo, RunsRepo, StepsRepo } from "../database/index.ts";
import type { Job, Run, RunListQuery, RunTrigger } from "../database/types.ts";
import type { Metrics } from "../metrics.ts";
import type { RunEventBus } from "../scheduler/run-events.ts";
import type { RunQueue } from "../scheduler/run-queue.ts";

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
  };

  constructor(deps: Runs["deps"]) {
    this.deps = deps;
  }

  async start(job: Job, trigger: RunTrigger, input?: unknown): Promise<Run> {
    const run = await this.deps.runs.create({ jobId: job.id, trigger, input });
    await this.deps.queue.enqueue(run.id);
    return run;
  }

  async cancel(runId: string): Promise<Run> {
    const run = await this.get(runId);
    if (run.status === "queued") {
      await this.deps.runs.finish(run.id, { status: "cancelled", error: "cancelled before it started" });
    } else if (run.status === "running" || run.status === "waiting_approval") {
      // Executing here: abort it; the executor records "cancelled". Executing elsewhere (another
      // replica): the request is stored and that replica's executor sees it.
      if (!this.deps.queue.abortLocal(run.id, "cancelled by a user")) await this.deps.runs.requestCancel(run.id);
    } else {
      throw new ApiError("conflict", `run is already ${run.status}`);
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
    if (!run) throw new ApiError("not_found", `run ${runId} not found`);
    return run;
  }

  async view(runId: string) {
    const run = await this.get(runId);
    const steps = await this.deps.steps.list(run.id);
    return { ...run, steps: steps.map((s) => ({ seq: s.seq, at: s.createdAt, ...s.data, type: s.type })) };
  }

  async list(query: RunListQuery) {
    return this.deps.runs.list(query);
  }
}
