import type { Logger } from "@fabricore/protocol";
import type { RunsRepo } from "../database/index.ts";
import type { FanOut, FleetNode, Job, Run, Usage } from "../database/types.ts";
import type { NodeHub } from "../nodes/node-hub.ts";
import { FanOutWaits } from "./fan-out-waits.ts";
import type { OfflineWait } from "./offline-wait.ts";
import type { RunEventBus } from "./run-events.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";
import { noTargetsError, resolveRunTargets } from "./run-targets.ts";

export interface FanOutResult {
  status: "succeeded" | "failed" | "cancelled";
  output: string | null;
  error?: string;
  usage?: Usage;
  /** The summary's structured answer, when the job has an output schema. */
  result?: unknown;
}

export interface FanOutDeps {
  runs: RunsRepo;
  nodes: { list(): Promise<FleetNode[]> };
  hub: Pick<NodeHub, "get">;
  events: RunEventBus;
  lifecycle: RunLifecycle;
  logger: Logger;
  /** Runs one claimed child to its final status, offered only its Node's tools (the executor). */
  executeChild: (childId: string, signal: AbortSignal) => Promise<void>;
  /** The extra model turn of `summarize`: reads the children's outputs, writes the fleet answer. */
  summarize: (parent: Run, job: Job, prompt: string, signal: AbortSignal) => Promise<FanOutResult>;
  /** How often children are checked for a cancel asked for on another replica (1 s). */
  cancelPollMs?: number;
  /** Shows a child waiting for its Node (a job's offlineNodes "wait") on the parent's table. */
  offlineWait?: Pick<OfflineWait, "childWaiting">;
}

export interface ChildView {
  id: string;
  nodeId: string | null;
  nodeName: string | null;
  status: Run["status"];
  output: string | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Set while the child waits for its offline Node. */
  waiting: Run["waiting"];
}

/** CONTRACT "Fleet jobs": `summary` of a fan-out run (running/queued/cancelled added to the four). */
export function fanOutSummary(children: Run[]) {
  const count = (s: Run["status"]) => children.filter((c) => c.status === s).length;
  return {
    total: children.length,
    succeeded: count("succeeded"),
    failed: count("failed"),
    skipped: count("skipped"),
    cancelled: count("cancelled"),
    running: count("running") + count("waiting_approval"),
    queued: count("queued"),
  };
}

export function childView(c: Run): ChildView {
  return {
    id: c.id,
    nodeId: c.nodeId,
    nodeName: c.nodeName,
    status: c.status,
    output: c.output,
    error: c.error,
    startedAt: c.startedAt,
    finishedAt: c.finishedAt,
    waiting: c.waiting,
  };
}

/**
 * The parent run of a fan-out job: one child run per target Node, each a whole run of its own
 * (steps, budget, approvals) offered only that Node's tools, at most `concurrency` at once. The
 * children are written `queued` up front (so the run page lists every target from the start) and
 * started here, in this parent's slot: the queue never claims a child, so a fan-out cannot starve
 * other runs of queue slots nor deadlock on them, and no child runs twice. The parent's signal is
 * every child's signal: cancelling the parent stops them all.
 */
export class FanOutRunner {
  private readonly deps: FanOutDeps;

  constructor(deps: FanOutDeps) {
    this.deps = deps;
  }

  async execute(run: Run, job: Job, fanOut: FanOut, signal: AbortSignal): Promise<FanOutResult> {
    const { runs } = this.deps;
    let children = await runs.listChildren(run.id);
    if (children.length === 0) {
      const targets = await resolveRunTargets(job, this.deps.nodes);
      if (targets.length === 0) return { status: "failed", output: null, error: noTargetsError(job) };
      children = await runs.createChildren(
        run,
        targets.map((t) => ({ nodeId: t.id, nodeName: t.name })),
      );
    }
    this.publishChildren(run.id);
    await this.runChildren(run, job, children, fanOut, signal);
    if (signal.aborted) await runs.cancelQueuedChildren(run.id, "the parent run was cancelled");
    const done = await runs.listChildren(run.id);
    this.publishChildren(run.id);
    return this.conclude(run, job, fanOut, done, signal);
  }

  private async runChildren(run: Run, job: Job, children: Run[], fanOut: FanOut, signal: AbortSignal): Promise<void> {
    const { runs, hub, logger } = this.deps;
    const owner = run.owner ?? "fan-out";
    let next = 0;
    let stoppedBy: string | undefined;
    const active = new Map<string, AbortController>();
    // offlineNodes "wait": a child whose Node is offline waits, until the parent's own wait's end
    // (it waited for all its Nodes before starting) or waitForNodesSeconds from now.
    const waitSeconds = job.waitForNodesSeconds;
    const until = run.waiting?.until ?? new Date(Date.now() + waitSeconds * 1000).toISOString();
    const waits = job.offlineNodes === "wait" ? new FanOutWaits({ hub, deadline: Date.parse(until) }) : undefined;
    // A cancel asked for one child on another replica is stored on its row; see it and stop that child.
    const poll = setInterval(() => {
      void runs
        .cancelRequested([...active.keys()])
        .then((ids) => {
          for (const id of ids) active.get(id)?.abort("cancelled by a user");
        })
        .catch((error: unknown) => logger.warn({ err: error, runId: run.id }, "checking child cancels failed"));
    }, this.deps.cancelPollMs ?? 1000);
    poll.unref?.();

    const worker = async (): Promise<void> => {
      while (!signal.aborted) {
        const child = children[next++] ?? (await waits?.next(signal, () => stoppedBy !== undefined));
        if (!child) return;
        const name = child.nodeName ?? child.nodeId ?? "?";
        if (stoppedBy !== undefined) {
          await this.finishChild(
            run.id,
            child.id,
            "skipped",
            `not started: the child on ${stoppedBy} failed (stopOnFailure)`,
          );
          continue;
        }
        if (!child.nodeId || !hub.get(child.nodeId)) {
          if (child.nodeId && waits?.open) {
            waits.defer(child);
            await this.deps.offlineWait?.childWaiting(child, until);
            this.publishChildren(run.id);
            continue;
          }
          await this.finishChild(
            run.id,
            child.id,
            "skipped",
            `node ${name} is offline${waits ? waitedFor(until) : ""}`,
          );
          continue;
        }
        if (!(await runs.claim(child.id, owner))) continue; // cancelled on its own meanwhile
        this.publishChildren(run.id);
        const controller = new AbortController();
        const onAbort = () => controller.abort(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        active.set(child.id, controller);
        try {
          await this.deps.executeChild(child.id, controller.signal);
        } catch (error) {
          logger.error({ err: error, runId: child.id }, "a fan-out child crashed");
        } finally {
          active.delete(child.id);
          signal.removeEventListener("abort", onAbort);
        }
        const after = await runs.get(child.id);
        this.publishChildren(run.id);
        if (fanOut.stopOnFailure && after && after.status !== "succeeded" && !signal.aborted) stoppedBy ??= name;
      }
    };
    try {
      const workers = Math.max(1, Math.min(fanOut.concurrency, children.length));
      await Promise.all(Array.from({ length: workers }, () => worker()));
      if (!signal.aborted) {
        for (const child of waits?.leftovers() ?? []) {
          const name = child.nodeName ?? child.nodeId ?? "?";
          const why =
            stoppedBy === undefined
              ? `node ${name} is offline${waitedFor(until)}`
              : `not started: the child on ${stoppedBy} failed (stopOnFailure)`;
          await this.finishChild(run.id, child.id, "skipped", why);
        }
      }
    } finally {
      clearInterval(poll);
    }
  }

  private async finishChild(parentId: string, childId: string, status: "skipped", error: string): Promise<void> {
    await this.deps.lifecycle.transition(childId, { status, output: null, error });
    this.publishChildren(parentId);
  }

  /** The parent's subscribers learn that a child moved; they re-read the run (one small event, not
   * the table, so 1,000 children do not mean 1,000 copies of it per change). */
  private publishChildren(parentId: string): void {
    this.deps.events.publish(parentId, { type: "children" });
  }

  private async conclude(
    run: Run,
    job: Job,
    fanOut: FanOut,
    children: Run[],
    signal: AbortSignal,
  ): Promise<FanOutResult> {
    const usage = children.reduce(
      (sum, c) => ({
        promptTokens: sum.promptTokens + c.usage.promptTokens,
        completionTokens: sum.completionTokens + c.usage.completionTokens,
      }),
      { promptTokens: 0, completionTokens: 0 },
    );
    const sections = children.map(sectionOf).join("\n\n");
    if (signal.aborted) return { status: "cancelled", output: sections, error: "cancelled", usage };
    const notOk = children.filter((c) => c.status !== "succeeded");
    const failure =
      notOk.length === 0
        ? undefined
        : `${notOk.length} of ${children.length} children did not succeed: ${notOk
            .map((c) => `${c.nodeName ?? c.nodeId} ${c.status}${c.error ? ` (${c.error})` : ""}`)
            .join("; ")}`;
    let output = sections;
    let result: unknown;
    if (fanOut.summarize) {
      const summary = await this.deps.summarize(run, job, summaryPrompt(job, children), signal);
      usage.promptTokens += summary.usage?.promptTokens ?? 0;
      usage.completionTokens += summary.usage?.completionTokens ?? 0;
      if (summary.status !== "succeeded") {
        return {
          status: summary.status,
          output: sections,
          error: `the summary turn ${summary.status}: ${summary.error ?? "no answer"}${failure ? `; ${failure}` : ""}`,
          usage,
        };
      }
      output = summary.output ?? sections;
      if (summary.result !== undefined) result = summary.result;
    }
    const structured = result !== undefined ? { result } : {};
    return failure
      ? { status: "failed", output, error: failure, usage, ...structured }
      : { status: "succeeded", output, usage, ...structured };
  }
}

function waitedFor(until: string): string {
  return `: it did not come online by ${until}, the end of the job's wait (waitForNodesSeconds)`;
}

function sectionOf(c: Run): string {
  const body = c.status === "succeeded" ? (c.output ?? "") : `(${c.status}${c.error ? `: ${c.error}` : ""})`;
  return `## ${c.nodeName ?? c.nodeId}\n${body}`;
}

const MAX_CHILD_CHARS = 4000;

/** The summarize turn's task: the job's prompt, then each Node's result, every Node named. */
function summaryPrompt(job: Job, children: Run[]): string {
  const parts = children.map((c) => {
    const text =
      c.status === "succeeded" ? (c.output ?? "") : `did not finish: ${c.status}${c.error ? ` — ${c.error}` : ""}`;
    const cut = text.length > MAX_CHILD_CHARS ? `${text.slice(0, MAX_CHILD_CHARS)}… [cut]` : text;
    return `### ${c.nodeName ?? c.nodeId} (${c.status})\n${cut}`;
  });
  return [
    `The task below was run separately on each of ${children.length} servers. Their results follow.`,
    "Write the fleet-level answer: name every server, say which need attention and why.",
    `Task: ${job.prompt}`,
    "",
    ...parts,
  ].join("\n");
}
