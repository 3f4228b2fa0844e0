import type { ChainRule, FinalRunStatus, Run } from "../database/types.ts";

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
