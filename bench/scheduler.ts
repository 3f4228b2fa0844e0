/**
 * Scheduler: `jobs` cron jobs all due on the same second; how late each run's row is written
 * (trigger lag) and how late each run starts executing (start lag), measured from the due second.
 * The Core is the real one in a child process; the scripted model answers at once.
 */

import { performance } from "node:perf_hooks";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { adminApi, startCoreHost, tempDir } from "./lib/fleet-setup.ts";
import { httpLoad } from "./lib/http-load.ts";
import { sleep, until } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, summarize } from "./lib/stats.ts";

export interface SchedulerOptions {
  jobs: number;
  runConcurrency?: number;
}

interface RunRow {
  id: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export async function schedulerBench(options: SchedulerOptions): Promise<BenchResult> {
  const started = Date.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  const runConcurrency = options.runConcurrency ?? 32;
  const llm = await startScriptedOpenAiServer({ script: () => turn.text("Nothing to do.") });
  const core = await startCoreHost({
    dataDir: tempDir("scheduler"),
    env: { FABRICORE_RUN_CONCURRENCY: String(runConcurrency) },
  });
  try {
    const api = await adminApi(core.url);
    await api("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    // Due far enough ahead for every job to be created first; a 6-field cron that fires once a day.
    const creationBudgetMs = Math.max(20_000, options.jobs * 30);
    const due = new Date(Math.ceil((Date.now() + creationBudgetMs) / 1000) * 1000);
    const cron = `${due.getUTCSeconds()} ${due.getUTCMinutes()} ${due.getUTCHours()} * * *`;
    const created = await httpLoad(options.jobs, 8, (i) => ({
      url: `${core.url}/api/jobs`,
      init: {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${api.token}` },
        body: JSON.stringify({
          name: `cron-${i}`,
          prompt: "Say that nothing needs doing.",
          model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
          schedule: { cron, timezone: "UTC" },
          maxSteps: 2,
        }),
      },
    }));
    if (created.failed) throw new Error(`creating jobs failed: ${created.errors.join("; ")}`);
    const slackMs = due.getTime() - Date.now();
    if (slackMs < 1_000) throw new Error(`creating ${options.jobs} jobs took too long (due in ${slackMs} ms)`);
    await sleep(slackMs);
    await until(
      `${options.jobs} scheduled runs finished`,
      async () => {
        const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
        const done = ["succeeded", "failed", "cancelled"].reduce((acc, k) => acc + (overview.runsLast24h[k] ?? 0), 0);
        return done >= options.jobs;
      },
      120_000,
      500,
    );
    // Read every run back by its job (the list's createdAt cursor cannot page through runs created in the same ms).
    const listStart = performance.now();
    const jobs = await api<Array<{ id: string }>>("GET", "/api/jobs");
    const listMs = performance.now() - listStart;
    const runs: RunRow[] = [];
    for (const job of jobs) runs.push(...(await api<RunRow[]>("GET", `/api/runs?jobId=${job.id}&limit=10`)));
    const dueMs = due.getTime();
    const triggerLag = runs.map((r) => Date.parse(r.createdAt) - dueMs);
    const startLag = runs.map((r) => Date.parse(r.startedAt ?? r.createdAt) - dueMs);
    const finishLag = runs.map((r) => Date.parse(r.finishedAt!) - dueMs);
    const t = summarize(triggerLag);
    const s = summarize(startLag);
    const f = summarize(finishLag);
    const succeeded = runs.filter((r) => r.status === "succeeded").length;
    rows.push({
      metric: `run started by the scheduler (row written, queued) after its due second, p99 (${options.jobs} jobs due at once)`,
      value: `${fmt(t.p99)} ms (p50 ${fmt(t.p50)} ms, max ${fmt(t.max)} ms)`,
      target: "p99 < 1 s",
      verdict: t.p99 < 1000 ? "met" : "missed",
    });
    rows.push({
      metric: "run began executing after its due second p50 / p99 (queue-bound)",
      value: `${fmt(s.p50)} / ${fmt(s.p99)} ms`,
      baseline: `run concurrency ${runConcurrency}: ${options.jobs} runs drain at the Core's run throughput`,
    });
    rows.push({
      metric: "run finished after its due second p50 / p99",
      value: `${fmt(f.p50)} / ${fmt(f.p99)} ms`,
      baseline: `${succeeded} of ${runs.length} succeeded`,
    });
    rows.push({ metric: `GET /api/jobs with ${jobs.length} scheduled jobs`, value: `${fmt(listMs)} ms` });
    notes.push(
      "Lags are differences of the Core's own stored timestamps (createdAt, startedAt, finishedAt; millisecond ISO strings) " +
        "from the due second; each job's timer fires at the second boundary, so the lag includes the timer's own lateness.",
    );
  } finally {
    await core.child.kill();
    await llm.close();
  }
  return {
    id: "scheduler",
    title: "Scheduler: many jobs due on the same second",
    method:
      `${options.jobs} jobs created through the API with the same 6-field cron, due on one second a little ahead; the real ` +
      `Core (child process, SQLite, run concurrency ${runConcurrency}); the scripted LM Studio answers each run at once. ` +
      "After the second has passed, every run is read back through GET /api/runs.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
