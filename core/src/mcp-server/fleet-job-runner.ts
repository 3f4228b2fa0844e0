import type { FleetNode, Job, Run } from "../database/types.ts";
import type { RunEventBus } from "../runs/run-events.ts";
import type { Principal } from "../services/accounts.ts";
import type { AuditActor } from "../services/audit.ts";
import { jobScopeRefusal } from "../services/token-scopes.ts";
import { McpCallRefused } from "./fleet-tool-caller.ts";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export interface FleetJobRunnerDeps {
  /** Resolves a job by id or name (throws not_found). */
  getJob(idOrName: string): Promise<Job>;
  startRun(job: Job, input: unknown, by: AuditActor): Promise<Run>;
  getRun(runId: string): Promise<Run>;
  cancelRun(runId: string, by: AuditActor): Promise<unknown>;
  events: RunEventBus;
  listNodes(): Promise<FleetNode[]>;
}

/** What `fabricore_run_job` returns. */
export interface JobRunOutcome {
  runId: string;
  status: string;
  output: string | null;
  error: string | null;
  result?: unknown;
}

/**
 * `fabricore_run_job`: starts a job as the token's user, reports each step as MCP progress, and
 * answers with the run's outcome. Cancelling the MCP request cancels the run. A scoped token may
 * only run a job that stays inside its scope (services/token-scopes.ts).
 */
export class FleetJobRunner {
  private readonly deps: FleetJobRunnerDeps;

  constructor(deps: FleetJobRunnerDeps) {
    this.deps = deps;
  }

  async run(
    principal: Principal,
    request: { job: string; input?: unknown },
    opts: { signal: AbortSignal; progress?: (done: number, message: string) => void },
  ): Promise<JobRunOutcome> {
    if (principal.role === "viewer") {
      throw new McpCallRefused("forbidden", "this token has the viewer role: it cannot run jobs");
    }
    const job = await this.deps.getJob(request.job);
    await this.checkScope(principal, job);
    const by: AuditActor = {
      actor: principal.tokenName ? `${principal.username} (token ${principal.tokenName})` : principal.username,
    };
    const run = await this.deps.startRun(job, request.input, by);
    let steps = 0;
    let finished: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      finished = resolve;
    });
    const unsubscribe = this.deps.events.subscribe(run.id, (event) => {
      if (event.type === "step") {
        steps += 1;
        const step = event.step as { type?: string; tool?: string; node?: string };
        opts.progress?.(
          steps,
          step.type === "tool" ? `step ${steps}: ${step.node}/${step.tool}` : `step ${steps}: ${step.type}`,
        );
      } else if (event.type === "status" && event.status === "waiting_approval") {
        opts.progress?.(steps, "waiting for an operator's approval");
      } else if (event.type === "done") {
        finished?.();
      }
    });
    const onAbort = () => {
      void this.deps.cancelRun(run.id, by).catch(() => {});
    };
    opts.signal.addEventListener("abort", onAbort, { once: true });
    try {
      // The run may have ended before the subscription: the stored status decides.
      for (;;) {
        const current = await this.deps.getRun(run.id);
        if (FINAL.has(current.status)) return outcome(current);
        await Promise.race([done, new Promise((r) => setTimeout(r, 1_000))]);
        if (opts.signal.aborted) return outcome(await this.deps.getRun(run.id));
      }
    } finally {
      unsubscribe();
      opts.signal.removeEventListener("abort", onAbort);
    }
  }

  private async checkScope(principal: Principal, job: Job): Promise<void> {
    if (!principal.scopes) return;
    const refusal = jobScopeRefusal(principal.scopes, job, await this.deps.listNodes());
    if (refusal) throw new McpCallRefused("forbidden", refusal);
  }
}

function outcome(run: Run): JobRunOutcome {
  const withResult = run as Run & { result?: unknown };
  return {
    runId: run.id,
    status: run.status,
    output: run.output,
    error: run.error,
    ...(withResult.result !== undefined && withResult.result !== null ? { result: withResult.result } : {}),
  };
}
