import type { Logger } from "@fabricore/protocol";
import type { JobsRepo, RunWaitsRepo } from "../database/index.ts";
import type { FleetNode, Run, RunWaiting } from "../database/types.ts";
import type { NodeHub } from "../nodes/node-hub.ts";
import type { RunEventBus } from "./run-events.ts";
import { resolveRunTargets } from "./run-targets.ts";

export interface OfflineWaitDeps {
  jobs: Pick<JobsRepo, "get">;
  waits: Pick<RunWaitsRepo, "park" | "clear" | "wake" | "markWaiting">;
  nodes: { list(): Promise<FleetNode[]> };
  hub: Pick<NodeHub, "get">;
  events: RunEventBus;
  logger: Pick<Logger, "warn">;
  /** Longest a waiting run sleeps between looks at its Nodes: the safety net for a wake-up lost
   * (a Node that came and went between two looks, a wake that failed). Default 10 s. */
  recheckMs?: number;
  now?: () => number;
}

/** What a claimed run does about its Nodes before it starts. */
export type WaitDecision =
  /** Start now (a target is online, or the job does not wait); `waited`: it had waited for them. */
  | { kind: "proceed"; waited?: RunWaiting }
  /** Put back in the queue, waiting: this claim is over, nothing else is to be done with it. */
  | { kind: "parked"; waiting: RunWaiting }
  /** It waited `waitForNodesSeconds` and no target came online: it fails with nodes_offline. */
  | { kind: "expired"; waiting: RunWaiting }
  /** Cancelled in the moment it was claimed to be looked at: it ends cancelled, nothing starts. */
  | { kind: "cancelled" };

/**
 * The "wait" half of issue 22.1's offline rule (a job's `offlineNodes: "wait"`). A run whose
 * target Nodes are all offline is handed back to the queue instead of starting: `queued` with
 * `waiting` (which Nodes, since, until) and `not_before`, so it holds no run slot while it waits,
 * outlives a Core restart like any queued run, and is cancelled like one. A Node coming online
 * makes the runs waiting on it due at once (`nodeOnline`); otherwise each is looked at again every
 * `recheckMs` and at its deadline, when it fails. Only the run's own targets count: a fan-out
 * parent waits until one of its Nodes is online, then its children run (FanOutRunner).
 */
export class OfflineWait {
  private readonly deps: OfflineWaitDeps;

  constructor(deps: OfflineWaitDeps) {
    this.deps = deps;
  }

  async check(run: Run): Promise<WaitDecision> {
    const { jobs, waits, hub } = this.deps;
    // A fan-out child is started by its parent, which waited for its Node (fan-out.ts).
    if (run.parentRunId !== null) return this.proceed(run, run.waiting ?? undefined);
    const job = await jobs.get(run.jobId);
    const waited = run.waiting ?? undefined;
    if (job?.offlineNodes !== "wait") return this.proceed(run, waited);
    const targets = await resolveRunTargets(job, this.deps.nodes);
    // No Node at all is `no_targets`, said by the executor; waiting would not change it.
    if (targets.length === 0 || targets.some((t) => hub.get(t.id))) return this.proceed(run, waited);
    const now = this.deps.now?.() ?? Date.now();
    const waiting: RunWaiting = {
      nodeIds: targets.map((t) => t.id),
      nodes: targets.map((t) => t.name),
      since: waited?.since ?? new Date(now).toISOString(),
      until: waited?.until ?? new Date(now + job.waitForNodesSeconds * 1000).toISOString(),
    };
    const until = Date.parse(waiting.until);
    if (now >= until) {
      await waits.clear(run.id);
      return { kind: "expired", waiting };
    }
    const notBefore = new Date(Math.min(until, now + (this.deps.recheckMs ?? 10_000))).toISOString();
    // Not parked: cancelled (or a cancel asked for) in the moment it was claimed for this look.
    if (!(await waits.park(run.id, waiting, notBefore))) return { kind: "cancelled" };
    this.deps.events.publish(run.id, { type: "status", status: "queued", waiting });
    return { kind: "parked", waiting };
  }

  /** A fan-out child's Node is offline at its turn: the child waits (until `until`) in its parent. */
  async childWaiting(child: Run, until: string): Promise<void> {
    if (!child.nodeId) return;
    await this.deps.waits.markWaiting(child.id, {
      nodeIds: [child.nodeId],
      nodes: [child.nodeName ?? child.nodeId],
      since: new Date(this.deps.now?.() ?? Date.now()).toISOString(),
      until,
    });
  }

  /** `nodeId` is online: the runs waiting on it are due now, and offered to the queue. */
  async nodeOnline(nodeId: string, enqueue: (runId: string) => Promise<void>): Promise<void> {
    try {
      for (const runId of await this.deps.waits.wake(nodeId)) await enqueue(runId);
    } catch (error) {
      // The runs are rechecked every recheckMs anyway; this only makes them start sooner.
      this.deps.logger.warn({ err: error, nodeId }, "waking the runs waiting for a node failed");
    }
  }

  private async proceed(run: Run, waited: RunWaiting | undefined): Promise<WaitDecision> {
    if (waited) await this.deps.waits.clear(run.id);
    return waited ? { kind: "proceed", waited } : { kind: "proceed" };
  }
}
