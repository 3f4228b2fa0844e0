import { ProtocolError, refMatches, type ToolResult } from "@fabricore/protocol";
import type { AgentTool, ToolRouter } from "../agent/types.ts";
import { newId } from "../database/ids.ts";
import type { RunsRepo } from "../database/index.ts";
import type { ApprovalDecision, ApprovalPolicy, PendingApproval } from "../database/types.ts";
import type { RunStatusHook } from "./run-events.ts";
import type { RunLifecycle } from "./run-lifecycle.ts";

export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/** Whether `policy` makes a call of `tool` wait for a person. A listed name matches the tool's own
 * name, `<source>/<name>`, or the name the model sees. */
export function needsApproval(policy: ApprovalPolicy | null | undefined, tool: AgentTool): boolean {
  if (!policy) return false;
  if (policy.required) return true;
  return (policy.tools ?? []).some((t) => refMatches(t, tool) || t === tool.modelName);
}

export interface ApprovalGateDeps {
  runs: Pick<RunsRepo, "approvalDecision">;
  /** Stores and announces `waiting_approval` and the way back to `running`. */
  lifecycle: RunLifecycle;
  /** How often a waiting call re-reads the database for a decision made on another replica. */
  pollMs?: number;
  now?: () => Date;
  /** Told when a run starts waiting (notifications carry the pending call and the run's link). */
  onStatus?: RunStatusHook;
}

/**
 * The approval gate: a ToolRouter wrapper. A call the job's policy names is not sent to its Node
 * until an operator approves it: the run goes to `waiting_approval` with the exact call (tool,
 * node, arguments) stored as its `pendingApproval`; approve sends the call on; deny, or no
 * decision before the deadline, returns an error result with the reason, which the loop hands to
 * the model as that tool step's outcome. Decisions are read from the database (so any replica's
 * API can decide); `notify` wakes a local waiter at once instead of at the next poll.
 */
export class ApprovalGate {
  private readonly deps: ApprovalGateDeps;
  private readonly wakers = new Map<string, Set<() => void>>();

  constructor(deps: ApprovalGateDeps) {
    this.deps = deps;
  }

  /** A decision for `runId` was stored: wake its waiter in this process. */
  notify(runId: string): void {
    for (const wake of this.wakers.get(runId) ?? []) wake();
  }

  wrap(inner: ToolRouter, runId: string, policy: ApprovalPolicy | null | undefined): ToolRouter {
    if (!policy || (!policy.required && !policy.tools?.length)) return inner;
    // A run shows one pending call at a time, so calls of one turn that need approval queue up.
    let turn: Promise<unknown> = Promise.resolve();
    return {
      call: async (tool, args, opts) => {
        if (!needsApproval(policy, tool)) return inner.call(tool, args, opts);
        const mine = turn.then(() => this.approve(runId, tool, args, policy, opts.signal));
        turn = mine.catch(() => {});
        const refusal = await mine;
        return refusal ?? inner.call(tool, args, opts);
      },
    };
  }

  /** Resolves undefined when approved, or with the error result to give the model instead. */
  private async approve(
    runId: string,
    tool: AgentTool,
    args: Record<string, unknown>,
    policy: ApprovalPolicy,
    signal: AbortSignal,
  ): Promise<ToolResult | undefined> {
    const now = this.deps.now ?? (() => new Date());
    const timeoutSeconds = policy.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS;
    const requestedAt = now();
    const pending: PendingApproval = {
      id: newId(),
      tool: tool.name,
      source: tool.source,
      node: tool.nodeName,
      nodeId: tool.nodeId,
      arguments: args,
      requestedAt: requestedAt.toISOString(),
      deadline: new Date(requestedAt.getTime() + timeoutSeconds * 1000).toISOString(),
    };
    if (signal.aborted) throw new ProtocolError("cancelled", "the run was cancelled");
    if (!(await this.deps.lifecycle.transition(runId, { status: "waiting_approval", pendingApproval: pending }))) {
      throw new ProtocolError("cancelled", "the run is no longer active");
    }
    await this.deps.onStatus?.(runId, "waiting_approval", { approval: pending });
    let decision: ApprovalDecision | undefined;
    try {
      decision = await this.waitForDecision(runId, pending.id, timeoutSeconds * 1000, signal);
    } finally {
      await this.deps.lifecycle.transition(runId, {
        status: "running",
        from: "waiting_approval",
        announce: !signal.aborted,
      });
    }
    if (signal.aborted) throw new ProtocolError("cancelled", "the run was cancelled while waiting for approval");
    const durationMs = Math.max(0, now().getTime() - requestedAt.getTime());
    if (!decision) {
      return refused(
        `approval timed out: nobody approved this ${tool.name} call within ${timeoutSeconds} seconds; it was not run`,
        durationMs,
      );
    }
    if (!decision.approved) {
      return refused(
        `denied by ${decision.by}${decision.reason ? `: ${decision.reason}` : ""}; the call was not run`,
        durationMs,
      );
    }
    return undefined;
  }

  private waitForDecision(
    runId: string,
    approvalId: string,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<ApprovalDecision | undefined> {
    const pollMs = this.deps.pollMs ?? 1000;
    return new Promise((resolve, reject) => {
      let settled = false;
      let checking = false;
      let recheck = false;
      const wakers = this.wakers.get(runId) ?? new Set<() => void>();
      this.wakers.set(runId, wakers);
      const finish = (value: ApprovalDecision | undefined, error?: unknown) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        clearTimeout(deadline);
        signal.removeEventListener("abort", onAbort);
        wakers.delete(check);
        if (wakers.size === 0) this.wakers.delete(runId);
        if (error) reject(error);
        else resolve(value);
      };
      const check = () => {
        if (checking) {
          recheck = true;
          return;
        }
        checking = true;
        this.deps.runs.approvalDecision(runId, approvalId).then(
          (decision) => {
            checking = false;
            if (decision) finish(decision);
            else if (recheck) {
              recheck = false;
              check();
            }
          },
          (error) => {
            checking = false;
            finish(undefined, error);
          },
        );
      };
      const onAbort = () => finish(undefined);
      const poll = setInterval(check, pollMs);
      const deadline = setTimeout(() => finish(undefined), timeoutMs);
      signal.addEventListener("abort", onAbort, { once: true });
      wakers.add(check);
      check();
    });
  }
}

function refused(message: string, durationMs: number): ToolResult {
  return { content: [{ type: "text", text: message }], isError: true, durationMs };
}
