/**
 * Fleet jobs (issue 13): one fan-out job over N simulated Nodes (one child run per Node) against the
 * same N single-Node runs started one by one through the API, in the same run on the same Core; and
 * the tool count the scripted model is offered in ONE run over 8 / 10 / 100 / 1,000 Nodes, read from
 * the request bodies it received.
 */
import { type BenchModel, PROBE_MARK, startBenchModel } from "./lib/fleet-jobs-model.ts";
import { measureRound, type RoundContext, type RoundResult, runToEnd } from "./lib/fleet-jobs-rounds.ts";
import { adminApi, enrollNodes, startCoreHost, startFleet, tempDir, waitConnected } from "./lib/fleet-setup.ts";
import { sleep, until } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, fmtBytes } from "./lib/stats.ts";

export interface FleetJobsOptions {
  nodes: number;
  /** The fan-out's `concurrency`, and the Core's FABRICORE_RUN_CONCURRENCY for the baseline. */
  concurrency?: number;
}

const WORK_PROMPT = "Report this server's load.";
const MODEL = { provider: "LM Studio", model: "qwen2.5-7b-instruct" };
/** Fan-out and baseline alternate A B B A, so a drift in the machine's load over the bench (other
 * helpers share the cores) weighs on both alike. */
const ORDER = ["api", "fanout", "fanout", "api"] as const;
const PROBE_SIZES = [8, 10, 100, 1000];

/** Node i's labels: every one `fleet=bench`; the first 8, 10 and 100 also `first<k>` (probe selectors). */
function labelsOf(i: number): Record<string, string> {
  const labels: Record<string, string> = { fleet: "bench" };
  for (const k of PROBE_SIZES) if (i < k && k !== 1000) labels[`first${k}`] = "y";
  return labels;
}

/** Where a long bench is, on stderr (the table comes at the end). */
const progress = (what: string) => console.error(`fleet-jobs: ${what} (${new Date().toISOString().slice(11, 19)})`);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function fleetJobsBench(options: FleetJobsOptions): Promise<BenchResult> {
  const started = Date.now();
  const n = options.nodes;
  const concurrency = options.concurrency ?? 32;
  const rows: Row[] = [];
  const notes: string[] = [];
  const processes = Math.max(1, Math.min(4, Math.ceil(n / 500)));

  const model: BenchModel = await startBenchModel();
  const dataDir = tempDir("fleet-jobs");
  const credentials = await enrollNodes(dataDir, n, "sim", labelsOf);
  const core = await startCoreHost({ dataDir, env: { FABRICORE_RUN_CONCURRENCY: String(concurrency) } });
  const fleet = await startFleet(core.url, credentials, { processes, rampMs: Math.min(5_000, n * 2) });
  try {
    await waitConnected(fleet, n, 120_000);
    await until(`${n} Nodes online`, async () => (await core.child.request<number>({ type: "online" })) >= n, 60_000);
    const api = await adminApi(core.url);
    await api("POST", "/api/providers", { name: MODEL.provider, kind: "lmstudio", baseUrl: model.baseUrl });
    const all = await api<Array<{ id: string; name: string }>>("GET", "/api/nodes");
    const sims = all.filter((node) => node.name.startsWith("sim-"));
    const nodeNames = new Map(sims.map((node) => [node.id, node.name]));
    const work = { prompt: WORK_PROMPT, model: MODEL, tools: ["system_stats"], maxSteps: 4 };
    const fanOut = { mode: "each", concurrency, stopOnFailure: false, summarize: false };
    const fanOutJob = (
      await api<{ id: string }>("POST", "/api/jobs", {
        ...work,
        name: "fleet-fan-out",
        selector: "fleet=bench",
        fanOut,
      })
    ).id;
    const singleJobs: string[] = [];
    for (const node of sims) {
      singleJobs.push(
        (await api<{ id: string }>("POST", "/api/jobs", { ...work, name: node.name, nodes: [node.id] })).id,
      );
    }

    // Warm-up at full size, so that neither kind's first round pays for growing the heap, SQLite's
    // cache and the JIT: one whole fan-out, and every single-Node job once (started in parallel).
    progress(`warm-up: a ${n}-child fan-out and ${n} single runs`);
    await runToEnd(api, fanOutJob);
    for (let i = 0; i < singleJobs.length; i += 16) {
      await Promise.all(singleJobs.slice(i, i + 16).map((job) => api("POST", `/api/jobs/${job}/run`, {})));
    }
    await until(
      "the warm-up's runs final",
      async () => {
        const o = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
        return (o.runsLast24h.succeeded ?? 0) + (o.runsLast24h.failed ?? 0) >= 2 * n + 1;
      },
      600_000,
      200,
    );
    await sleep(2_000);

    const ctx: RoundContext = {
      api,
      fleet,
      model,
      core: { pid: core.child.pid, memory: () => core.child.request({ type: "memory" }) },
      fanOutJob,
      singleJobs,
      nodeNames,
    };
    const rounds: RoundResult[] = [];
    for (const kind of ORDER) {
      progress(`round ${rounds.length + 1} of ${ORDER.length}: ${kind}`);
      rounds.push(await measureRound(ctx, kind));
      await sleep(1_000);
    }
    rows.push(...roundRows(rounds, n, concurrency));
    notes.push(
      `Every round: ${rounds
        .map(
          (r) =>
            `${r.kind} ${fmt(r.wallMs / 1000)} s (${JSON.stringify(r.statuses)}, ${r.modelRequests} chat requests and ` +
            `${r.modelListings} model listings to the model server; Core after GC ${fmtBytes(r.memBefore.rss)} → ` +
            `${fmtBytes(r.memAfter.rss)} RSS, heap ${fmtBytes(r.memBefore.heapUsed)} → ${fmtBytes(r.memAfter.heapUsed)}, ` +
            `peak RSS ${fmtBytes(r.peakRss)})`,
        )
        .join("; ")}.`,
    );

    progress("tool-count probes");
    rows.push(...(await probeRows(api, model, n)));
  } finally {
    await fleet.stop();
    await core.child.kill();
    await model.close();
  }
  notes.push(
    "A fan-out's children run in the parent's queue slot, `concurrency` at a time, and are never queued on " +
      "their own (core/src/runs/fan-out.ts); the baseline's runs go through the Core's run queue with " +
      `FABRICORE_RUN_CONCURRENCY=${concurrency}, so both run at most ${concurrency} agents at once.`,
  );
  notes.push(
    "The baseline's wall time is bound by its N start requests, each waiting for the one before; their latency " +
      "moves with the machine's load (other helpers' test suites shared the 2 cores), which is why its two rounds differ " +
      "most. The fan-out is started by one request, so only its children's execution shares the cores.",
  );
  notes.push(
    "Memory: the Core's RSS and JS heap after a forced full GC before and after each round (so what a finished run " +
      "leaves behind), and its peak RSS sampled every 50 ms during the round (live runs, their garbage, SQLite's " +
      "page cache), each divided by the runs of the round.",
  );
  return {
    id: "fleet-jobs",
    title: `Fleet jobs over ${n.toLocaleString("en-US")} Nodes`,
    method:
      `The real Core (createCore in a child process, SQLite) and ${n} simulated Nodes in ${processes} child ` +
      "processes (real node/src ConnectionManager + ToolDispatcher per Node on its own WebSocket), every Node " +
      "labelled `fleet=bench`. The scripted LM Studio (in the bench process) answers each run's first turn with a " +
      'system_stats call and its second with the answer. Fan-out: one job with `selector: "fleet=bench"` and ' +
      `\`fanOut: {mode: "each", concurrency: ${concurrency}}\`, started with one POST /api/jobs/:id/run. Baseline, ` +
      `same run: ${n} single-Node jobs with the same prompt, model and tools, each started with its own POST, one ` +
      "after the other. Rounds alternate baseline, fan-out, fan-out, baseline after a 100-run warm-up of each; " +
      "wall time is the first POST to the last run final (the same /api/overview poll for both). Then every run " +
      "(every child) is read back through the API and checked: succeeded, one tool step, its own Node; the " +
      "simulators count tool executions per callId and the model counts first turns per server. Tool count: " +
      "one run (no fan-out) of a job whose selector matches 8, 10, 100 or 1,000 Nodes, no tool allowlist; the " +
      "model lists the Nodes, calls system_stats on one through call_tool and answers; the count is the `tools` " +
      "array of each request body the model server received.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}

function roundRows(rounds: RoundResult[], n: number, concurrency: number): Row[] {
  const fan = rounds.filter((r) => r.kind === "fanout");
  const base = rounds.filter((r) => r.kind === "api");
  const fanMs = mean(fan.map((r) => r.wallMs));
  const baseMs = mean(base.map((r) => r.wallMs));
  const ok = (r: RoundResult) =>
    r.runs === n &&
    r.succeeded === n &&
    r.oneToolStep === n &&
    r.distinctNodes === n &&
    r.executions === n &&
    r.duplicates === 0 &&
    r.modelTwice === 0 &&
    r.modelNever === 0;
  const perRun = (rs: RoundResult[], f: (r: RoundResult) => number) => mean(rs.map((r) => f(r) / n));
  const peak = (r: RoundResult) => r.peakRss - r.memBefore.rss;
  const heapLeft = (r: RoundResult) => r.memAfter.heapUsed - r.memBefore.heapUsed;
  const rssLeft = (r: RoundResult) => r.memAfter.rss - r.memBefore.rss;
  const fanPeak = perRun(fan, peak);
  const basePeak = perRun(base, peak);
  return [
    {
      metric: `fan-out children finished (${fan.length} fan-outs of ${n})`,
      value: fan
        .map(
          (r) =>
            `${r.succeeded} of ${r.runs} succeeded, ${r.oneToolStep} with one tool step, on ${r.distinctNodes} distinct Nodes; ` +
            `${r.executions} tool executions, ${r.duplicates} duplicates; model first turns: ${r.modelTwice} Nodes twice, ${r.modelNever} never`,
        )
        .join(" / "),
      target: "all finished, none lost or run twice",
      verdict: fan.every(ok) ? "met" : "missed",
    },
    {
      metric: `baseline runs finished (${base.length} × ${n} started one by one)`,
      value: base
        .map(
          (r) => `${r.succeeded} of ${r.runs} succeeded, ${r.executions} tool executions, ${r.duplicates} duplicates`,
        )
        .join(" / "),
      verdict: base.every(ok) ? "met" : "missed",
    },
    {
      metric: `wall time, ${n} runs (first POST → last run final), mean of ${fan.length}`,
      value: `fan-out ${fmt(fanMs / 1000)} s (${fan.map((r) => fmt(r.wallMs / 1000)).join(", ")}); ${fmt((n / fanMs) * 1000)} runs/s`,
      baseline: `one by one through the API ${fmt(baseMs / 1000)} s (${base.map((r) => fmt(r.wallMs / 1000)).join(", ")}); ${fmt((n / baseMs) * 1000)} runs/s`,
      ratio: `${fmt(fanMs / baseMs)}×`,
      target: "≤ 1× (not slower than starting them one by one)",
      verdict: fanMs <= baseMs ? "met" : "missed",
    },
    {
      metric: "time to start (sending the start requests)",
      value: `fan-out: 1 POST, ${fmt(mean(fan.map((r) => r.startMs)))} ms`,
      baseline: `${n} POSTs, ${fmt(mean(base.map((r) => r.startMs)) / 1000)} s`,
    },
    {
      metric: "Core peak RSS growth during a round (sampled every 50 ms), per run",
      value: `fan-out ${fmtBytes(fanPeak)} per child (${fan.map((r) => fmtBytes(peak(r))).join(", ")} in all)`,
      baseline: `${fmtBytes(basePeak)} per single run (${base.map((r) => fmtBytes(peak(r))).join(", ")} in all)`,
      ratio: `${fmt(fanPeak / basePeak)}×`,
    },
    {
      metric: "Core memory left per finished run (after full GC): JS heap / RSS",
      value: `fan-out ${fmtBytes(perRun(fan, heapLeft))} / ${fmtBytes(perRun(fan, rssLeft))} per child`,
      baseline: `${fmtBytes(perRun(base, heapLeft))} / ${fmtBytes(perRun(base, rssLeft))} per single run`,
    },
    {
      metric: "Core RSS / JS heap after GC, first round → last",
      value: `${fmtBytes(rounds[0]!.memBefore.rss)} → ${fmtBytes(rounds.at(-1)!.memAfter.rss)}; heap ${fmtBytes(rounds[0]!.memBefore.heapUsed)} → ${fmtBytes(rounds.at(-1)!.memAfter.heapUsed)}`,
      baseline: `concurrency ${concurrency}`,
    },
  ];
}

/** One non-fan-out run per size over that many Nodes; the `tools` the model got, from the wire. */
async function probeRows(api: Awaited<ReturnType<typeof adminApi>>, model: BenchModel, n: number): Promise<Row[]> {
  const rows: Row[] = [];
  const sizes = PROBE_SIZES.map((k) => Math.min(k, n)).filter((k, i, all) => all.indexOf(k) === i);
  const counts: number[] = [];
  for (const size of sizes) {
    const selector = size === n ? "fleet=bench" : `first${size}`;
    const key = `nodes=${size}`;
    const job = await api<{ id: string }>("POST", "/api/jobs", {
      name: `probe-${size}`,
      prompt: `${PROBE_MARK} ${key}\nCheck the fleet's load.`,
      model: MODEL,
      selector,
      maxSteps: 6,
    });
    const { ms, run } = await runToEnd(api, job.id);
    const requests = model.probes.get(key) ?? [];
    const offered = [...new Set(requests.map((r) => r.tools))];
    const toolSteps = run.steps.filter((s) => s.type === "tool");
    const list = requests[1];
    counts.push(...requests.map((r) => r.tools));
    rows.push({
      metric: `tools offered to the model, one run over ${size.toLocaleString("en-US")} Nodes`,
      value:
        `${offered.join(" / ")} tools (${requests[0]?.toolNames.join(", ") ?? "no request"}) in ${requests.length} requests; ` +
        `tools JSON ${fmtBytes(requests[0]?.toolsBytes ?? 0)}, first request ${fmtBytes(requests[0]?.bodyBytes ?? 0)}` +
        (list && offered.includes(3)
          ? `; list_nodes answer as the model got it ${fmtBytes(list.lastToolResultBytes)}, naming ` +
            `${list.lastToolResultNodes} of ${size} Nodes${list.lastToolResultCut ? " (cut by the tool-output limit)" : ""}`
          : ""),
      baseline: `flat list would be ${size * 3} tools (3 per Node)`,
      target: size > 8 ? "3 (fleet tools)" : "flat ≤ 40",
      verdict:
        run.status !== "succeeded" || toolSteps.some((s) => s.isError)
          ? "missed"
          : size > 8
            ? offered.length === 1 && offered[0] === 3
              ? "met"
              : "missed"
            : offered.every((c) => c === size * 3)
              ? "met"
              : "missed",
    });
    rows.push({
      metric: `  that run: status, time`,
      value: `${run.status}, ${toolSteps.length} tool steps, ${fmt(ms)} ms`,
    });
  }
  return rows;
}
