import type { Job, Run, RunStatus } from "../api/types.ts";

/** The most recent run of each job, from a run list sorted newest first. */
export function latestRunByJob(runs: Run[]): Map<string, Run> {
  const latest = new Map<string, Run>();
  for (const run of runs) if (!latest.has(run.jobId)) latest.set(run.jobId, run);
  return latest;
}

/** A job's last run status, from the run list (newest first). */
export function lastRunOf(
  job: Job,
  latest: Map<string, Run>,
): { id: string; status: RunStatus; at?: string | null } | null {
  const run = latest.get(job.id);
  if (!run) return null;
  return { id: run.id, status: run.status, at: run.finishedAt ?? run.startedAt ?? run.createdAt };
}

/** Upcoming fire times of a job: `schedule.nextRuns`, or the single `nextFireAt`. */
export function nextFires(job: Job): string[] {
  if (job.schedule?.nextRuns.length) return job.schedule.nextRuns;
  const next = job.schedule?.nextFireAt;
  return next ? [next] : [];
}
