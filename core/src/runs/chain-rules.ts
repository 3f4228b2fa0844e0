import type { Logger } from "@fabricore/protocol";
import type { ChainRule, FinalRunStatus, Job, Run } from "../database/types.ts";

/**
 * Chaining (`then`): after a run ends, the jobs its job names for that status start with trigger
 * "chain" and input {run: {id, jobName, status, output, result}}. Two guards:
 * - on save, a `then` that leads back to the job (directly or through others) is refused;
 * - at run time, a chain stops after MAX_CHAIN_DEPTH hops (a loop made by two saves racing, or
 *   by renames, cannot run forever): the run that would start beyond it is not started, and the
 *   ending run's log says so.
 */
export const MAX_CHAIN_DEPTH = 10;

/** The first loop `then` would create for job `jobId`, as job ids in order (A, B, …, A); else null. */
export function findChainLoop(
  jobId: string,
  then: ChainRule[],
  thenOf: (jobId: string) => ChainRule[] | undefined,
): string[] | null {
  const next = (id: string) => (id === jobId ? then : (thenOf(id) ?? [])).map((r) => r.job);
  const path: string[] = [jobId];
  const done = new Set<string>();
  const visit = (id: string): string[] | null => {
    for (const to of next(id)) {
      if (to === jobId) return [...path, to];
      if (done.has(to) || path.includes(to)) continue;
      path.push(to);
      const found = visit(to);
      if (found) return found;
      path.pop();
      done.add(to);
    }
    return null;
  };
  return visit(jobId);
}

/** The jobs to start after a run of a job with `then` ended `status`. */
export function chainTargets(then: ChainRule[], status: FinalRunStatus): string[] {
  if (status === "cancelled" || status === "skipped") return [];
  return [...new Set(then.filter((r) => r.on.includes(status)).map((r) => r.job))];
}

/** The chained run's input. */
export function chainInput(run: Run, jobName: string) {
  return {
    run: { id: run.id, jobName, status: run.status, output: run.output, result: run.result ?? null },
  };
}

export interface ChainDeps {
  runs: { get(id: string): Promise<Run | undefined> };
  jobs: { get(id: string): Promise<Job | undefined> };
  start(job: Job, input: unknown, by: { actor: string }, extra: { chainDepth: number }): Promise<Run>;
  logger: Pick<Logger, "info" | "warn">;
}

/**
 * After a run's end is stored: starts the jobs its job's `then` names for that status. A paused or
 * deleted target is skipped (logged); beyond MAX_CHAIN_DEPTH nothing more starts. Runs once per
 * run, in the process that executed it (in cluster mode too). A Core that dies between storing
 * the end and starting the next job loses that hop (known limit, docs).
 */
export async function startChainedRuns(deps: ChainDeps, runId: string): Promise<Run[]> {
  const run = await deps.runs.get(runId);
  if (!run || (run.status !== "succeeded" && run.status !== "failed" && run.status !== "cancelled")) return [];
  const job = await deps.jobs.get(run.jobId);
  if (!job) return [];
  const targets = chainTargets(job.then, run.status);
  if (!targets.length) return [];
  if (run.chainDepth + 1 > MAX_CHAIN_DEPTH) {
    deps.logger.warn(
      { runId, jobId: job.id, depth: run.chainDepth },
      `chain stopped: ${MAX_CHAIN_DEPTH} hops is the most a chain may take`,
    );
    return [];
  }
  const started: Run[] = [];
  for (const targetId of targets) {
    const target = await deps.jobs.get(targetId);
    if (!target?.enabled) {
      deps.logger.warn({ runId, target: targetId }, "chained job is deleted or paused; not started");
      continue;
    }
    const next = await deps.start(
      target,
      chainInput(run, job.name),
      { actor: `chain:${job.name}` },
      { chainDepth: run.chainDepth + 1 },
    );
    deps.logger.info({ runId, next: next.id, job: target.name }, "chained run started");
    started.push(next);
  }
  return started;
}
