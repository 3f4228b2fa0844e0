import type { ApiClient } from "../api-client.ts";
import { seg } from "../api-client.ts";
import { JobView, Ok } from "../api-schemas.ts";
import { CliError } from "../errors.ts";
import type { LoadedJob } from "../job-files.ts";
import { bodyOfSpec, diffSpecs, specOfFile, specOfView } from "../job-spec.ts";
import { loadJobsAndNames } from "./name-index.ts";

export type ApplyAction = "created" | "updated" | "unchanged" | "deleted" | "failed";

export interface ApplyResult {
  name: string;
  action: ApplyAction;
  /** For `updated`: the fields that differed. */
  changed?: string[];
  /** For `failed`: the API's message. */
  error?: string;
  where?: string;
}

export interface ApplyOptions {
  prune: boolean;
  dryRun: boolean;
}

/**
 * Makes the Core's jobs what the files say: a job whose name is new is created, one that differs
 * is updated with its whole spec (a field left out of the file goes back to its default), one
 * that is equal is left alone, so a second apply changes nothing. With `prune`, jobs no file
 * names are deleted — but not after a failure, so a typo in one file never costs another job.
 */
export async function applyJobs(api: ApiClient, loaded: LoadedJob[], options: ApplyOptions): Promise<ApplyResult[]> {
  const { jobs, names } = await loadJobsAndNames(api);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const results: ApplyResult[] = [];
  for (const { job, where } of orderByChain(loaded)) {
    const desired = specOfFile(job, names);
    const current = byName.get(job.name);
    try {
      if (!current) {
        if (!options.dryRun) {
          const created = await api.send("POST", "/api/jobs", bodyOfSpec(desired.spec, desired.webhookSecret), JobView);
          names.jobs.set(created.id, created.name);
        }
        results.push({ name: job.name, action: "created", where });
        continue;
      }
      const changed = diffSpecs(desired, specOfView(current, names));
      if (changed.length === 0) {
        results.push({ name: job.name, action: "unchanged", where });
        continue;
      }
      if (!options.dryRun)
        await api.send(
          "PATCH",
          `/api/jobs/${seg(current.id)}`,
          bodyOfSpec(desired.spec, desired.webhookSecret),
          JobView,
        );
      results.push({ name: job.name, action: "updated", changed, where });
    } catch (error) {
      if (!(error instanceof CliError) || error.code !== "api") throw error;
      results.push({ name: job.name, action: "failed", error: error.message, where });
    }
  }
  if (options.prune && !results.some((r) => r.action === "failed")) {
    const wanted = new Set(loaded.map((l) => l.job.name));
    for (const job of jobs) {
      if (wanted.has(job.name)) continue;
      if (!options.dryRun) await api.send("DELETE", `/api/jobs/${seg(job.id)}`, undefined, Ok);
      results.push({ name: job.name, action: "deleted" });
    }
  }
  return results;
}

/** A job whose `then` names another job of the files comes after it, so creating both in one
 * apply works (the Core refuses a `then` to a job that does not exist yet). Otherwise file order. */
export function orderByChain(loaded: LoadedJob[]): LoadedJob[] {
  const byName = new Map(loaded.map((l) => [l.job.name, l]));
  const out: LoadedJob[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (item: LoadedJob) => {
    const name = item.job.name;
    if (state.get(name)) return; // done, or a loop (the Core names the loop)
    state.set(name, "visiting");
    for (const rule of item.job.then ?? []) {
      const target = byName.get(rule.job);
      if (target && target !== item) visit(target);
    }
    state.set(name, "done");
    out.push(item);
  };
  for (const item of loaded) visit(item);
  return out;
}

export function summarise(results: ApplyResult[]): Record<ApplyAction, number> {
  const counts: Record<ApplyAction, number> = { created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 };
  for (const r of results) counts[r.action]++;
  return counts;
}
