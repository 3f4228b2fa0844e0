import type { Logger, NodeUpdateResultParams } from "@fabricore/protocol";
import type { NodesRepo } from "../database/index.ts";
import {
  FAILED_NODE_STATES,
  FINAL_NODE_STATES,
  type NodeRollout,
  type NodeRolloutsRepo,
  type RolloutNode,
  type RolloutNodeState,
  type RolloutTarget,
} from "../database/repos/node-rollouts-repo.ts";
import type { NodeUpdateResultsRepo } from "../database/repos/node-update-results-repo.ts";
import type { FleetNode } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { matchesSelector, parseSelector, SelectorError } from "../nodes/label-selector.ts";
import { type ServedVersion, servedVersionNow } from "../nodes/node-build-watch.ts";

/** How a Core with no active rollout treats --auto-update Nodes (FABRICORE_NODE_UPDATE_POLICY). */
export type NodeUpdatePolicy = "auto" | "staged";

/** The Nodes as the rollout sees them: who is connected, on which version, and the push. */
export interface RolloutHub {
  /** The version a connected Node said hello with, and when that connection started; undefined: offline. */
  live(nodeId: string): { version: string; connectedAt: number } | undefined;
  /** Pushes `fabricore/node/update` to a Node connected to THIS process; false when it is not. */
  offer(nodeId: string, version: string): boolean;
}

export interface NodeRolloutsOptions {
  rollouts: NodeRolloutsRepo;
  results: NodeUpdateResultsRepo;
  nodes: NodesRepo;
  hub: RolloutHub;
  /** The Node version this Core serves (read when a rollout begins: it follows a rebuild). */
  servedVersion: ServedVersion;
  policy: NodeUpdatePolicy;
  /** Records what the Core did on its own (a rollout paused by a failed batch). */
  audit?: (action: string, target: string, detail: Record<string, unknown>, outcome: "ok" | "failed") => void;
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** How often deadlines are checked and the active rollout re-read (other replicas). Default 2 s. */
  tickMs?: number;
  now?: () => number;
}

export interface StartRollout {
  nodeIds?: string[] | undefined;
  selector?: string | undefined;
  batchSize: number;
  /** Failed Nodes a batch may have and the rollout still go on. Default 0: any failure pauses. */
  maxFailures?: number | undefined;
  /** How long a Node of a batch has to come back on the new version. */
  deadlineSeconds?: number | undefined;
}

export const DEFAULT_ROLLOUT_DEADLINE_SECONDS = 300;

/**
 * Staged Node rollout (issue 18, docs/NODE-LIFECYCLE.md "Staged rollout"). A rollout cuts its Nodes
 * into batches of `batchSize`; only the Nodes of the running batch are offered the served version
 * (in the hello, and pushed with `fabricore/node/update` to those already connected). A Node is
 * `updated` when it says hello on the new version, and refused / rolled_back / failed when it
 * reports so (`fabricore/node/update-result`); past the deadline it is `timeout`, and one offline
 * when its batch starts is `offline_skipped`. When every Node of the batch is done the next batch
 * starts, unless more than `maxFailures` of them failed: then the rollout pauses, with the reason.
 *
 * State lives in the database (node_rollouts, node_rollout_nodes); every change is conditional on
 * the state it leaves, so a report racing the deadline, or two replicas, move a row once.
 */
export class NodeRollouts {
  readonly #o: NodeRolloutsOptions;
  /** The active rollout as last read: answers the hub's synchronous "offer to this Node?". */
  #active: NodeRollout | undefined;
  /** Node → the connection the offer was pushed on (pushed again on a new connection). */
  readonly #pushed = new Map<string, number>();
  #serial: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: NodeRolloutsOptions) {
    this.#o = options;
  }

  get policy(): NodeUpdatePolicy {
    return this.#o.policy;
  }

  /** Whether a running or paused rollout decides who is offered the version (as last read). */
  get active(): boolean {
    return this.#active !== undefined;
  }

  /** Reads the active rollout and follows it (deadlines, pushes, batches) until close(). */
  async start(): Promise<void> {
    await this.tick();
    this.#timer = setInterval(() => void this.tick().catch(this.#logError("rollout tick")), this.#o.tickMs ?? 2_000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /**
   * Whether the hello to this Node advertises the served version. With an active rollout: only to
   * the Nodes of its running batch still updating (a paused one offers nothing). Without one: the
   * policy — `auto` offers every Node (a plain Core's behaviour), `staged` none.
   */
  offersVersion(nodeId: string): boolean {
    const active = this.#active;
    if (!active) return this.#o.policy === "auto";
    if (active.state !== "running") return false;
    const node = active.nodes.find((n) => n.nodeId === nodeId);
    return node !== undefined && node.batch === active.currentBatch && node.state === "updating";
  }

  async begin(input: StartRollout, createdBy: string): Promise<NodeRollout> {
    const version = servedVersionNow(this.#o.servedVersion);
    if (version === undefined) throw new CoreError("conflict", "this Core serves no Node version to roll out");
    const targets = await this.#resolve(input);
    if (targets.length === 0) throw new CoreError("validation_failed", "no Node matches the rollout's target");
    const target: RolloutTarget =
      input.selector !== undefined ? { selector: input.selector } : { nodeIds: targets.map((n) => n.id) };
    const created = await this.#serially(async () => {
      const rollout = await this.#o.rollouts.create({
        version,
        target,
        batchSize: input.batchSize,
        maxFailures: input.maxFailures ?? 0,
        deadlineMs: (input.deadlineSeconds ?? DEFAULT_ROLLOUT_DEADLINE_SECONDS) * 1000,
        createdBy,
        nodes: targets.map((n) => ({ nodeId: n.id, name: n.name })),
      });
      this.#o.logger.info(
        { rollout: rollout.id, version, nodes: targets.length, batchSize: input.batchSize },
        "node rollout started",
      );
      await this.#advance(rollout.id);
      return rollout.id;
    });
    return this.get(created);
  }

  async get(id: string): Promise<NodeRollout> {
    const rollout = await this.#o.rollouts.get(id);
    if (!rollout) throw new CoreError("not_found", `rollout ${id} not found`);
    return rollout;
  }

  list(limit?: number) {
    return this.#o.rollouts.list(limit);
  }

  /** Stops the rollout: Nodes not yet done are marked cancelled (one already updating may still finish). */
  async cancel(id: string): Promise<NodeRollout> {
    await this.#serially(async () => {
      const rollout = await this.get(id);
      const now = this.#isoNow();
      const moved = await this.#o.rollouts.update(id, { state: "cancelled", finishedAt: now }, ["running", "paused"]);
      if (!moved)
        throw new CoreError(
          "conflict",
          `rollout ${id} is ${rollout.state}; only a running or paused one can be cancelled`,
        );
      await this.#o.rollouts.updateNodesIn(
        id,
        { state: "cancelled", reason: "the rollout was cancelled", finishedAt: now },
        ["pending", "updating"],
      );
      await this.#refresh();
    });
    return this.get(id);
  }

  /** Goes on after a pause: the next batch starts (the failed Nodes keep their state). */
  async resume(id: string): Promise<NodeRollout> {
    await this.#serially(async () => {
      const rollout = await this.get(id);
      if (!(await this.#o.rollouts.update(id, { state: "running", reason: null }, ["paused"])))
        throw new CoreError("conflict", `rollout ${id} is ${rollout.state}; only a paused one can be resumed`);
      await this.#advance(id, { resumed: true });
    });
    return this.get(id);
  }

  /** hub onOnline: a Node of the running batch saying hello on the new version is updated; on the
   * old one (it reconnected) it is offered again. */
  nodeOnline(nodeId: string): Promise<void> {
    if (!this.#active?.nodes.some((n) => n.nodeId === nodeId)) return Promise.resolve();
    return this.tick().catch(this.#logError("rollout: node online"));
  }

  /** hub onUpdateResult: kept as the Node's last outcome, and fed to the rollout it is part of. */
  nodeReported(nodeId: string, result: NodeUpdateResultParams): Promise<void> {
    return this.#serially(async () => {
      await this.#o.results.record(nodeId, {
        outcome: result.outcome,
        from: result.from,
        to: result.to,
        code: result.code ?? null,
        reason: result.reason ?? null,
        at: result.at,
      });
      const active = await this.#refresh();
      const node = active?.nodes.find((n) => n.nodeId === nodeId);
      if (!active || !node || node.state !== "updating" || result.to !== active.version) return;
      const state: RolloutNodeState = result.outcome;
      await this.#finishNode(active, node, state, result.code ?? null, result.reason ?? null);
      await this.#advance(active.id);
    }).catch(this.#logError("rollout: node report"));
  }

  /** Re-reads the active rollout, times out late Nodes, pushes offers, moves batches. */
  tick(): Promise<void> {
    return this.#serially(async () => {
      const active = await this.#refresh();
      if (active?.state !== "running") return;
      await this.#advance(active.id);
    });
  }

  /** Everything a running rollout does next, until nothing changes. */
  async #advance(id: string, options: { resumed?: boolean } = {}): Promise<void> {
    let resumed = options.resumed ?? false;
    for (let guard = 0; guard < 10_000; guard++) {
      const rollout = await this.#o.rollouts.get(id);
      if (rollout?.state !== "running") break;
      const batch = rollout.nodes.filter((n) => n.batch === rollout.currentBatch);
      if (rollout.currentBatch > 0) {
        const now = this.#o.now?.() ?? Date.now();
        let changed = false;
        for (const node of batch) {
          if (node.state !== "updating") continue;
          if (this.#o.hub.live(node.nodeId)?.version === rollout.version) {
            changed =
              (await this.#finishNode(rollout, node, "updated", null, `came back on ${rollout.version}`)) || changed;
            continue;
          }
          const started = node.startedAt ? Date.parse(node.startedAt) : now;
          if (now - started > rollout.deadlineMs) {
            const seconds = Math.round(rollout.deadlineMs / 1000);
            changed =
              (await this.#finishNode(
                rollout,
                node,
                "timeout",
                "deadline",
                `not back on ${rollout.version} within ${seconds} s`,
              )) || changed;
          } else {
            this.#push(rollout, node);
          }
        }
        if (changed) continue;
        if (!batch.every((n) => FINAL_NODE_STATES.has(n.state))) break;
        const failed = batch.filter((n) => FAILED_NODE_STATES.has(n.state));
        if (failed.length > rollout.maxFailures && !resumed) {
          const reason = pauseReason(rollout.currentBatch, failed, rollout.maxFailures);
          if (await this.#o.rollouts.update(id, { state: "paused", reason }, ["running"], rollout.currentBatch)) {
            this.#o.logger.warn({ rollout: id, batch: rollout.currentBatch, reason }, "node rollout paused");
            this.#o.audit?.("node.rollout.pause", id, { batch: rollout.currentBatch, reason }, "failed");
          }
          break;
        }
        resumed = false;
        if (rollout.currentBatch >= rollout.batchCount) {
          if (await this.#o.rollouts.update(id, { state: "completed", finishedAt: this.#isoNow() }, ["running"]))
            this.#o.logger.info({ rollout: id, version: rollout.version }, "node rollout completed");
          break;
        }
      }
      await this.#startBatch(rollout, rollout.currentBatch + 1);
    }
    await this.#refresh();
  }

  /** Moves the rollout to batch `next` (once, whoever gets there first) and sets its Nodes going. */
  async #startBatch(rollout: NodeRollout, next: number): Promise<void> {
    const now = this.#isoNow();
    const moved = await this.#o.rollouts.update(
      rollout.id,
      { currentBatch: next, batchStartedAt: now },
      ["running"],
      rollout.currentBatch,
    );
    if (!moved) return;
    const current = { ...rollout, currentBatch: next };
    for (const node of rollout.nodes.filter((n) => n.batch === next)) {
      const live = this.#o.hub.live(node.nodeId);
      if (!live) {
        await this.#finishNode(current, node, "offline_skipped", "offline", "offline when its batch started", [
          "pending",
        ]);
      } else if (live.version === rollout.version) {
        await this.#o.rollouts.updateNode(
          rollout.id,
          node.nodeId,
          {
            state: "updated",
            fromVersion: live.version,
            reason: `already on ${live.version}`,
            startedAt: now,
            finishedAt: now,
          },
          ["pending"],
        );
      } else if (
        await this.#o.rollouts.updateNode(
          rollout.id,
          node.nodeId,
          { state: "updating", fromVersion: live.version, startedAt: now },
          ["pending"],
        )
      ) {
        this.#push(current, { ...node, state: "updating" });
      }
    }
    this.#o.logger.info({ rollout: rollout.id, batch: next, of: rollout.batchCount }, "node rollout batch started");
    await this.#refresh();
  }

  /** Pushes the offer to a Node of the running batch, once per connection. */
  #push(rollout: NodeRollout, node: RolloutNode): void {
    const live = this.#o.hub.live(node.nodeId);
    if (!live || live.version === rollout.version || this.#pushed.get(node.nodeId) === live.connectedAt) return;
    // The cache must say "offer" before the Node, told now, reconnects and asks in its hello.
    if (this.#active?.id === rollout.id) {
      const cached = this.#active.nodes.find((n) => n.nodeId === node.nodeId);
      if (cached) cached.state = "updating";
      this.#active.currentBatch = rollout.currentBatch;
    }
    if (this.#o.hub.offer(node.nodeId, rollout.version)) this.#pushed.set(node.nodeId, live.connectedAt);
  }

  async #finishNode(
    rollout: NodeRollout,
    node: RolloutNode,
    state: RolloutNodeState,
    code: string | null,
    reason: string | null,
    from: RolloutNodeState[] = ["updating"],
  ): Promise<boolean> {
    const done = await this.#o.rollouts.updateNode(
      rollout.id,
      node.nodeId,
      { state, code, reason, finishedAt: this.#isoNow() },
      from,
    );
    if (done) {
      this.#pushed.delete(node.nodeId);
      this.#o.logger.info({ rollout: rollout.id, node: node.name, state, code, reason }, "node rollout: node done");
    }
    return done;
  }

  async #resolve(input: StartRollout): Promise<FleetNode[]> {
    if (input.selector !== undefined) {
      let selector: ReturnType<typeof parseSelector>;
      try {
        selector = parseSelector(input.selector);
      } catch (error) {
        if (error instanceof SelectorError) throw new CoreError("validation_failed", error.message);
        throw error;
      }
      const all = await this.#o.nodes.list();
      return all.filter((n) => matchesSelector(selector, n.labels)).sort((a, b) => a.name.localeCompare(b.name));
    }
    const out: FleetNode[] = [];
    for (const idOrName of new Set(input.nodeIds ?? [])) {
      const node = await this.#o.nodes.resolve(idOrName);
      if (!node) throw new CoreError("not_found", `node ${idOrName} not found`);
      if (!out.some((n) => n.id === node.id)) out.push(node);
    }
    return out;
  }

  async #refresh(): Promise<NodeRollout | undefined> {
    this.#active = await this.#o.rollouts.active();
    return this.#active;
  }

  /** One change at a time in this process (reports, hellos and ticks arrive together). */
  #serially<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#serial.then(fn, fn);
    this.#serial = next.catch(() => {});
    return next;
  }

  #isoNow(): string {
    return new Date(this.#o.now?.() ?? Date.now()).toISOString();
  }

  #logError(what: string) {
    return (error: unknown) => this.#o.logger.error({ err: (error as Error).message }, `${what} failed`);
  }
}

function pauseReason(batch: number, failed: RolloutNode[], maxFailures: number): string {
  const which = failed
    .slice(0, 5)
    .map((n) => `${n.name}: ${n.state}${n.code ? ` (${n.code})` : ""}`)
    .join("; ");
  const more = failed.length > 5 ? `; and ${failed.length - 5} more` : "";
  return `batch ${batch}: ${failed.length} Node(s) failed, more than the ${maxFailures} allowed — ${which}${more}`;
}
