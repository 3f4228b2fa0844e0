import type { Run } from "../database/types.ts";
import type { NodeHub } from "../nodes/node-hub.ts";

/**
 * The children of a waiting fan-out (a job's `offlineNodes: "wait"`) whose Node was offline at
 * their turn. They hold no worker while they wait: a worker with nothing else to start asks
 * `next()` for the first of them whose Node is back, until the run's deadline; whatever is left
 * then is skipped by the caller. Looked at every `pollMs` in memory (the hub, which in cluster
 * mode knows every replica's Nodes), so no database traffic while nothing changes.
 */
export class FanOutWaits {
  private readonly deferred: Run[] = [];
  private readonly hub: Pick<NodeHub, "get">;
  private readonly deadline: number;
  private readonly pollMs: number;

  constructor(options: { hub: Pick<NodeHub, "get">; deadline: number; pollMs?: number }) {
    this.hub = options.hub;
    this.deadline = options.deadline;
    this.pollMs = options.pollMs ?? 250;
  }

  /** Still worth waiting for (before the deadline). */
  get open(): boolean {
    return Date.now() < this.deadline;
  }

  defer(child: Run): void {
    this.deferred.push(child);
  }

  /** The first waiting child whose Node is online now, waiting for one; undefined at the deadline,
   * on abort, once `stopped()` (stopOnFailure), or when none waits. */
  async next(signal: AbortSignal, stopped: () => boolean): Promise<Run | undefined> {
    while (this.deferred.length > 0 && !signal.aborted && !stopped() && this.open) {
      const index = this.deferred.findIndex((c) => c.nodeId !== null && this.hub.get(c.nodeId));
      if (index >= 0) return this.deferred.splice(index, 1)[0];
      await new Promise((r) => setTimeout(r, Math.min(this.pollMs, Math.max(1, this.deadline - Date.now()))));
    }
    return undefined;
  }

  /** Those still waiting (the deadline passed): taken, so each is skipped once. */
  leftovers(): Run[] {
    return this.deferred.splice(0);
  }
}
