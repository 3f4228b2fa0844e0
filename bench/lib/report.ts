/** Results of one `node bench/run.ts` invocation: printed as they come, merged into
 * bench/results.json (so running a subset keeps the other benchmarks' last numbers) and rendered
 * into BENCHMARKS.md. */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { ROOT } from "./proc.ts";

export type Verdict = "met" | "missed" | "info";

/** One line of a benchmark's table: the measurement, the baseline measured in the same run, the target. */
export interface Row {
  metric: string;
  value: string;
  baseline?: string;
  /** value ÷ baseline, as printed. */
  ratio?: string;
  target?: string;
  verdict?: Verdict;
}

export interface BenchResult {
  id: string;
  title: string;
  /** How it was measured, in a few sentences. */
  method: string;
  rows: Row[];
  /** What limits it, what was fixed, what is not measured. */
  notes: string[];
  measuredAt: string;
  durationSeconds: number;
  machine: Machine;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  bun: string;
  /** 1-minute load average when the benchmark ended: other work on the machine shows here. */
  load1: number;
}

export function machine(): Machine {
  let bun = "unknown";
  try {
    bun = execFileSync(resolve(ROOT, "node_modules/.bin/bun"), ["--version"], { encoding: "utf8" }).trim();
  } catch {}
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    bun,
    load1: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

const RESULTS = resolve(ROOT, "bench/results.json");
const MARKDOWN = resolve(ROOT, "BENCHMARKS.md");

export function printResult(result: BenchResult): void {
  console.log(`\n== ${result.title} (${result.durationSeconds.toFixed(1)} s)`);
  const rows = result.rows.map((r) => ({
    metric: r.metric,
    value: r.value,
    baseline: r.baseline ?? "",
    ratio: r.ratio ?? "",
    target: r.target ?? "",
    verdict: r.verdict ?? "",
  }));
  console.table(rows);
  for (const note of result.notes) console.log(`  note: ${note}`);
}

export function loadResults(): Record<string, BenchResult> {
  if (!existsSync(RESULTS)) return {};
  try {
    return JSON.parse(readFileSync(RESULTS, "utf8")) as Record<string, BenchResult>;
  } catch {
    return {};
  }
}

export function saveResults(results: Record<string, BenchResult>, order: readonly string[]): void {
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(MARKDOWN, renderMarkdown(results, order));
}

/** What the numbers led to. Kept free of figures on purpose: every figure in BENCHMARKS.md comes from
 * the run that wrote it; these lines only say what was changed and what limits the rest. */
const FINDINGS: readonly string[] = [
  "## Findings",
  "",
  "- **Fixed while measuring (Core):** Kysely's SQLite driver prepared every statement afresh; the Core now " +
    "reuses prepared statements (core/src/database/connection.ts). Found in a CPU profile of the throughput " +
    "benchmark (`BENCH_CORE_PROFILE=<dir>` writes one for any benchmark that runs the Core in a child).",
  "- **Fixed while measuring (Core):** every cron parse validated its timezone by building an " +
    "`Intl.DateTimeFormat`; valid zones are now remembered (core/src/scheduler/cron.ts). It made listing many " +
    "scheduled jobs and a burst of same-second triggers slow.",
  "- **Fixed while measuring (Core):** every Node connection kept its own parsed copy of the same tool " +
    "descriptors and JSON schemas; the hub now stores identical tool lists once (core/src/nodes/node-hub.ts).",
  "- **Fixed while measuring (Core):** the Core's memory per Node was 2.41× a bare `ws` connection. Most of it " +
    "was V8's young generation, sized from the host's memory and grown by the connect storm, then kept committed; " +
    "the Core now starts with `--max-semi-space-size=16` everywhere (core/src/v8-flags.ts; the fleet's baseline " +
    "runs with the same flags). The rest was per-connection closures and maps: the hub's RPC peers share one " +
    "handler table and options object (protocol/src/rpc-peer.ts `RpcHandlers`), the socket transport has no " +
    "per-socket closures, and the parsed hello is kept without a copy. Found with heap-snapshot diffs " +
    "(`snapshot` IPC of bench/sim/core-host.ts and bench/sim/ws-baseline.ts) and `getHeapSpaceStatistics`.",
  "- **Fixed while measuring (Core):** every scheduled job held a croner instance, and croner 11 gives each " +
    "pattern a 10,000-entry year array (~80 KB): 1,000 scheduled jobs cost 76 MiB of heap (the soak's heap " +
    "after a full GC was 145 MiB at 1,000 Nodes). The scheduler now keeps one plain timer per job and computes " +
    "fire times from one shared, bounded set of compiled patterns (core/src/scheduler/cron.ts): 1,000 jobs add " +
    "nothing measurable. Found with a heap-snapshot diff before and after creating 1,000 jobs.",
  "- **Fixed while measuring (Core):** after the scheduler fix the soak's heap still grew (+7.7 MiB over " +
    "9 minutes). Heap snapshots after the first minute and at the end (`BENCH_SOAK_SNAPSHOTS=<dir>`) showed one " +
    "timer, AbortSignal, WeakRef and Set per finished run: the run's time budget was an `AbortSignal.timeout`, " +
    "whose timer cannot be cleared, so every run left ~750 bytes alive for the whole budget (an hour by " +
    "default; 45 MiB at 1,000 runs a minute). The budget is now a timer cleared when the run ends " +
    "(core/src/agent/time-limit.ts).",
  "- **Fixed while measuring (Node):** the binary loaded dockerode (with docker-modem, ssh2, gRPC) and the " +
    "MCP SDK at every start; it now speaks the Engine API over node:http and loads the MCP SDK with the first " +
    "MCP server, is compiled with `--bytecode`, and starts with a lazier JIT. What limits the rest is in its section.",
  "- **Measured, partly fixed (Node, issue 18's lighter Node):** idle RSS is ~1.85× the hello world (target " +
    "≤ 1.3×), ~2.1× with both executables read from disk, because the executable's pages in RSS depend on the " +
    "page cache (see its section). The MCP manager is now built with the first MCP server " +
    "(node/src/mcp/lazy-mcp.ts) and the compiled Node's zod skips its eval'd fast parsers (node/src/zod-jitless.ts): " +
    "−0.6 MiB together; protocol's schemas are built on first use in the compiled Node " +
    "(protocol/src/lazy-schema.ts): −0.9 MiB more; Docker over Bun's fetch, the identity's POST on Bun's fetch and " +
    "build-time JSON Schemas changed nothing. None of the start-time levers moves it: `--smol`, no `--bytecode`, `--bytecode-depth=1`, no " +
    "sourcemap, a forced full GC after connecting, or keeping the start's raised JIT thresholds are all within " +
    "±1 MiB, and the JS heap is only ~5 MiB. Probes in bench/node-binary (the hello world plus one part of the " +
    "Node's start each) put ~18 of its ~23 extra MiB on the runtime parts it uses — zod and protocol's schemas, node:http " +
    "under npm ws and the identity's requests — and that even a Node on Bun's own fetch and WebSocket would sit " +
    "near 1.4×. The download (gzip, as the Core serves it) is now in that section.",
  "- **Fixed while measuring (Core):** `/mcp` builds the token's tool catalog on every list, call and " +
    "list-changed check, and the build was quadratic (each Node's tools filtered out of the whole list) and " +
    "re-named the whole fleet each time: seconds per tools/call at 10,000 Nodes. Tools are now grouped in one " +
    "pass and the naming of an unchanged set of Nodes and tool lists is reused (core/src/mcp-server/fleet-catalog.ts).",
  "- **Fleet jobs, measured and left alone:** the fan-out bench found no child lost or run twice and nothing " +
    "in core/src/runs that grows with the fleet (a CPU profile of a 1,000-child fan-out: the fan-out loop itself " +
    "is under 1% of the Core's time; SQLite writes, the model client and the Node link are the rest). Two things " +
    "it shows that are not fan-out bugs: every run, child or not, builds its own model client and so lists " +
    "LM Studio's models once before its first turn (by design: a model may have been unloaded); and in ONE run " +
    "over 1,000 Nodes `list_nodes` without a selector answers more than the tool-output limit, so the model sees " +
    "the cut head and tail of the list (it is told so) and must narrow with a selector (core/src/agent/fleet-tools.ts).",
  "- **How targets were read.** Scheduler: a run is started when the scheduler has written its row and queued it; " +
    "when it begins executing depends on the run queue's throughput and is reported beside it. Tool-call round trip: " +
    "the ratio to raw `ws` moves with the machine's load (FabriCore's fixed CPU cost per call weighs more when the " +
    "raw echo is fast); it was above 2× in one full run during this work.",
  "- **The machine is shared.** Other work (test suites, type checks, PostgreSQL) ran on the same 2 cores " +
    "during these runs; each section records the load average at its end. Ratios to a baseline measured " +
    "in the same run are meaningful; absolute figures move with the load.",
  "- **Fleet simulators share the cores with the Core.** At 10,000 Nodes the simulator processes use more " +
    "CPU and memory than the Core itself, so the connect and reconnect times are an upper bound.",
  "- **Links, not benchmarks:** cutting, losing and slowing the Core↔Node link is tested in e2e/ with network " +
    "namespaces (docs/RELIABILITY.md); it found a liveness bug, fixed on both sides (a large frame crawling " +
    "over a slow link no longer gets its connection closed as silent).",
];

const VERDICT: Record<Verdict, string> = { met: "met", missed: "**missed**", info: "" };

function cell(text: string | undefined): string {
  return (text ?? "").replace(/\|/g, "\\|");
}

export function renderMarkdown(results: Record<string, BenchResult>, order: readonly string[]): string {
  const ids = [...order.filter((id) => results[id]), ...Object.keys(results).filter((id) => !order.includes(id))];
  const machines = new Map<string, string[]>();
  for (const id of ids) {
    const m = results[id]!.machine;
    const key = `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.kernel}, Node.js ${m.node}, Bun ${m.bun}`;
    machines.set(key, [...(machines.get(key) ?? []), id]);
  }
  const out: string[] = [];
  out.push("# FabriCore benchmarks");
  out.push("");
  out.push(
    "Written by `make bench` (`node bench/run.ts [name…]`); every number below was measured by the run that " +
      "wrote it, and every baseline beside it was measured in that same run on the same machine, so the " +
      "ratio is what to read. Results of a partial run are merged with the last full run " +
      "(`bench/results.json`); each section says when it was measured. The soak test runs only when asked " +
      "(`node bench/run.ts soak`).",
  );
  out.push("");
  out.push("## Machine");
  out.push("");
  for (const [key, list] of machines) out.push(`- ${key} — ${list.join(", ")}`);
  out.push("");
  out.push("## Summary");
  out.push("");
  out.push("| benchmark | metric | value | baseline (same run) | ratio | target | verdict |");
  out.push("| --- | --- | --- | --- | --- | --- | --- |");
  for (const id of ids) {
    for (const row of results[id]!.rows.filter((r) => r.target)) {
      out.push(
        `| ${id} | ${cell(row.metric)} | ${cell(row.value)} | ${cell(row.baseline)} | ${cell(row.ratio)} | ${cell(row.target)} | ${row.verdict ? VERDICT[row.verdict] : ""} |`,
      );
    }
  }
  out.push("");
  out.push(...FINDINGS);
  for (const id of ids) {
    const r = results[id]!;
    out.push("");
    out.push(`## ${r.title} (\`${id}\`)`);
    out.push("");
    out.push(
      `Measured ${r.measuredAt} in ${r.durationSeconds.toFixed(1)} s; 1-minute load average at the end: ${r.machine.load1} ` +
        `on ${r.machine.cores} cores.`,
    );
    out.push("");
    out.push(`**Method.** ${r.method}`);
    out.push("");
    out.push("| metric | value | baseline (same run) | ratio | target | verdict |");
    out.push("| --- | --- | --- | --- | --- | --- |");
    for (const row of r.rows) {
      out.push(
        `| ${cell(row.metric)} | ${cell(row.value)} | ${cell(row.baseline)} | ${cell(row.ratio)} | ${cell(row.target)} | ${row.verdict ? VERDICT[row.verdict] : ""} |`,
      );
    }
    if (r.notes.length) {
      out.push("");
      for (const note of r.notes) out.push(`- ${note}`);
    }
  }
  out.push("");
  return out.join("\n");
}
