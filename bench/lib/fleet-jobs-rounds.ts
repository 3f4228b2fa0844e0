/**
 * One measured round of the fleet-jobs benchmark: the same N single-Node runs, either as one fan-out
 * job (`fanout`) or as N runs started one by one through the API (`api`). Times first request → every
 * run final (read from /api/overview, the same poll for both), samples the Core's RSS throughout,
 * then checks every run through the API and every tool execution in the simulators.
 */

import type { BenchModel } from "./fleet-jobs-model.ts";
import type { Fleet } from "./fleet-setup.ts";
import { rssBytes, until } from "./proc.ts";

type Api = <T = any>(method: string, path: string, body?: unknown) => Promise<T>;

const FINAL = ["succeeded", "failed", "cancelled", "skipped"];

interface Memory {
  rss: number;
  heapUsed: number;
}

export interface RoundContext {
  api: Api;
  fleet: Fleet;
  model: BenchModel;
  core: { pid: number; memory(): Promise<Memory> };
  /** The fan-out job (selector over every simulated Node). */
  fanOutJob: string;
  /** One single-Node job per simulated Node, for the baseline. */
  singleJobs: string[];
  /** Node id → name, every simulated Node. */
  nodeNames: Map<string, string>;
}

export interface RoundResult {
  kind: "fanout" | "api";
  wallMs: number;
  /** Time to send every start request (one POST for a fan-out, N for the baseline). */
  startMs: number;
  runs: number;
  succeeded: number;
  /** Runs with exactly one tool step, which did not fail. */
  oneToolStep: number;
  /** Distinct Nodes the runs' tool steps ran on. */
  distinctNodes: number;
  /** Nodes whose child reached the model more than once / never (fan-out only). */
  modelTwice: number;
  modelNever: number;
  executions: number;
  duplicates: number;
  modelRequests: number;
  /** Other requests to the model server in the round (LM Studio model listings). */
  modelListings: number;
  memBefore: Memory;
  memAfter: Memory;
  peakRss: number;
  statuses: Record<string, number>;
}

async function finalCount(api: Api): Promise<number> {
  const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
  return FINAL.reduce((acc, s) => acc + (overview.runsLast24h[s] ?? 0), 0);
}

interface RunView {
  id: string;
  status: string;
  steps: Array<{ type: string; isError?: boolean; nodeId?: string }>;
  children?: Array<{ id: string; nodeId: string | null; status: string }>;
}

/** Fetches runs a few at a time (the check is not what is timed). */
async function fetchRuns(api: Api, ids: string[]): Promise<RunView[]> {
  const out: RunView[] = [];
  for (let i = 0; i < ids.length; i += 16) {
    out.push(...(await Promise.all(ids.slice(i, i + 16).map((id) => api<RunView>("GET", `/api/runs/${id}`)))));
  }
  return out;
}

export async function measureRound(ctx: RoundContext, kind: "fanout" | "api"): Promise<RoundResult> {
  const { api, fleet, model, core } = ctx;
  const n = ctx.singleJobs.length;
  const memBefore = await core.memory();
  const fleetBefore = await fleet.status();
  const requestsBefore = model.requests();
  const allBefore = model.allRequests();
  const turnsBefore = new Map(model.firstTurnsByServer);
  const finalBefore = await finalCount(api);
  let peakRss = memBefore.rss;
  const sampler = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, rssBytes(core.pid));
    } catch {}
  }, 50);

  const t0 = performance.now();
  let runIds: string[] = [];
  let parentId: string | undefined;
  if (kind === "fanout") {
    parentId = (await api<{ runId: string }>("POST", `/api/jobs/${ctx.fanOutJob}/run`, {})).runId;
  } else {
    // One by one: each start waits for the previous one's 202, as a script looping over the API would.
    for (const job of ctx.singleJobs)
      runIds.push((await api<{ runId: string }>("POST", `/api/jobs/${job}/run`, {})).runId);
  }
  const startMs = performance.now() - t0;
  const expected = kind === "fanout" ? n + 1 : n;
  try {
    await until(`${expected} runs final`, async () => (await finalCount(api)) - finalBefore >= expected, 600_000, 100);
  } finally {
    clearInterval(sampler);
  }
  const wallMs = performance.now() - t0;
  const memAfter = await core.memory();

  let parentStatus: string | undefined;
  if (parentId) {
    const parent = await api<RunView>("GET", `/api/runs/${parentId}`);
    parentStatus = parent.status;
    runIds = (parent.children ?? []).map((c) => c.id);
  }
  const runs = await fetchRuns(api, runIds);
  const statuses: Record<string, number> = parentStatus ? { [`parent ${parentStatus}`]: 1 } : {};
  const nodes = new Set<string>();
  let succeeded = 0;
  let oneToolStep = 0;
  for (const run of runs) {
    statuses[run.status] = (statuses[run.status] ?? 0) + 1;
    if (run.status === "succeeded") succeeded += 1;
    const tools = run.steps.filter((s) => s.type === "tool");
    if (tools.length === 1 && !tools[0]!.isError) oneToolStep += 1;
    for (const step of tools) if (step.nodeId) nodes.add(step.nodeId);
  }
  let modelTwice = 0;
  let modelNever = 0;
  if (kind === "fanout") {
    for (const name of ctx.nodeNames.values()) {
      const turns = (model.firstTurnsByServer.get(name) ?? 0) - (turnsBefore.get(name) ?? 0);
      if (turns > 1) modelTwice += 1;
      if (turns === 0) modelNever += 1;
    }
  }
  const fleetAfter = await fleet.status();
  return {
    kind,
    wallMs,
    startMs,
    runs: runs.length,
    succeeded,
    oneToolStep,
    distinctNodes: nodes.size,
    modelTwice,
    modelNever,
    executions: fleetAfter.executions - fleetBefore.executions,
    duplicates: fleetAfter.duplicates - fleetBefore.duplicates,
    modelRequests: model.requests() - requestsBefore,
    modelListings: model.allRequests() - allBefore - (model.requests() - requestsBefore),
    memBefore,
    memAfter,
    peakRss,
    statuses,
  };
}

/** Starts a job's run and waits for its final status (the probes and the warm-up). */
export async function runToEnd(api: Api, jobId: string, timeoutMs = 300_000): Promise<{ ms: number; run: RunView }> {
  const t0 = performance.now();
  const { runId } = await api<{ runId: string }>("POST", `/api/jobs/${jobId}/run`, {});
  const run = await until(
    `run ${runId} final`,
    async () => {
      const view = await api<RunView>("GET", `/api/runs/${runId}`);
      return FINAL.includes(view.status) ? view : undefined;
    },
    timeoutMs,
    50,
  );
  return { ms: performance.now() - t0, run };
}
