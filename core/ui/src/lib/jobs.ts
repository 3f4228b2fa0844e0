import { runTime } from "../api/runs.ts";
import type { Job, Run, RunStatus } from "../api/types.ts";

/** The most recent run of each job, from a run list sorted newest first. */
export function latestRunByJob(runs: Run[]): Map<string, Run> {
  const latest = new Map<string, Run>();
  for (const run of runs) if (!latest.has(run.jobId)) latest.set(run.jobId, run);
  return latest;
}

/** A job's last run status: the Core's `lastRun` when it sends one, else from the run list. */
export function lastRunOf(
  job: Job,
  latest: Map<string, Run>,
): { id: string; status: RunStatus; at?: string | null } | null {
  const fromList = latest.get(job.id);
  const fromJob = job.lastRun;
  if (fromJob && (!fromList || runTime(fromJob) >= runTime(fromList)))
    return { id: fromJob.id, status: fromJob.status, at: fromJob.finishedAt ?? fromJob.startedAt ?? fromJob.createdAt };
  if (fromList)
    return {
      id: fromList.id,
      status: fromList.status,
      at: fromList.finishedAt ?? fromList.startedAt ?? fromList.createdAt,
    };
  return null;
}

/** Upcoming fire times of a job: `schedule.nextRuns`, or the single `nextFireAt`. */
export function nextFires(job: Job): string[] {
  if (job.schedule?.nextRuns?.length) return job.schedule.nextRuns;
  const next = job.schedule?.nextFireAt ?? job.nextFireAt;
  return next ? [next] : [];
}
