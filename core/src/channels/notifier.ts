import type { Logger } from "@fabricore/protocol";
import type { ChannelsRepo, JobsRepo, NodesRepo, RunDeliveriesRepo, RunsRepo } from "../database/index.ts";
import type { DeliveryEvent, PendingApproval, RunStatus } from "../database/types.ts";
import type { RunStatusHook } from "../runs/run-events.ts";
import { buildPayload } from "./run-message.ts";

export interface NotifierDeps {
  runs: Pick<RunsRepo, "get">;
  jobs: Pick<JobsRepo, "get">;
  nodes: Pick<NodesRepo, "get">;
  channels: Pick<ChannelsRepo, "get">;
  deliveries: Pick<RunDeliveriesRepo, "enqueue">;
  /** Where the UI is reached from outside (links in notifications). */
  publicUrl: string;
  /** A delivery was enqueued: send it now rather than at the next poll. */
  wake: () => void;
  logger: Pick<Logger, "error">;
}

const EVENT_OF: Partial<Record<RunStatus, DeliveryEvent>> = {
  succeeded: "run.succeeded",
  failed: "run.failed",
  waiting_approval: "run.waiting_approval",
};

/**
 * Turns a run's status change into deliveries: one row per matching `notify` rule of its job,
 * written before anything is sent (the DeliveryWorker sends them), so the run never waits on a
 * receiver. The unique (run, channel, key) means a status reported twice, or by two replicas,
 * is still delivered once; each approval of a run is its own key.
 */
export class RunNotifier {
  private readonly deps: NotifierDeps;

  constructor(deps: NotifierDeps) {
    this.deps = deps;
  }

  /** The hook the executor, the approval gate and crash recovery call. */
  readonly hook: RunStatusHook = async (runId, status, detail) => {
    try {
      await this.enqueue(runId, status, detail?.approval);
    } catch (error) {
      // Never in the run's way: the run's status is stored; a notification that could not be
      // queued is logged (with the run id), not thrown into the executor.
      this.deps.logger.error({ err: error, runId, status }, "queueing the run's notifications failed");
    }
  };

  /** How many deliveries were queued. */
  async enqueue(runId: string, status: RunStatus, approval?: PendingApproval): Promise<number> {
    const event = EVENT_OF[status];
    if (!event) return 0;
    const run = await this.deps.runs.get(runId);
    if (!run) return 0;
    const job = await this.deps.jobs.get(run.jobId);
    const notifyStatus = status as "succeeded" | "failed" | "waiting_approval";
    const rules = (job?.notify ?? []).filter((rule) => rule.on.includes(notifyStatus));
    if (!job || rules.length === 0) return 0;
    const nodes: string[] = [];
    for (const id of job.nodes) nodes.push((await this.deps.nodes.get(id))?.name ?? id);
    const payload = buildPayload({ event, run, job, nodes, publicUrl: this.deps.publicUrl, approval });
    const dedupeKey = approval ? `${event}:${approval.id}` : event;
    let queued = 0;
    for (const channelId of new Set(rules.map((rule) => rule.channel))) {
      // A channel deleted after the job was saved is skipped (deleting one in use is refused).
      if (!(await this.deps.channels.get(channelId))) continue;
      const delivery = await this.deps.deliveries.enqueue({
        runId,
        channelId,
        event,
        dedupeKey,
        payload: payload as unknown as Record<string, unknown>,
      });
      if (delivery) queued++;
    }
    if (queued) this.deps.wake();
    return queued;
  }
}
