/**
 * `make bench` / `node bench/run.ts [name…]`: runs the benchmarks (all but `soak` when none is named),
 * prints each result next to its same-run baseline, and writes bench/results.json and BENCHMARKS.md.
 * Sizes can be turned down for a quick look: BENCH_FLEET_NODES, BENCH_RPC_CALLS, BENCH_RUNS, BENCH_JOBS,
 * BENCH_SOAK_MINUTES, BENCH_SOAK_NODES, BENCH_MCP_CALLS, BENCH_MCP_ENDPOINT_CALLS, BENCH_FLEET_JOBS_NODES.
 */
import os from "node:os";
import { agentStepBench } from "./agent-step.ts";
import { fleetBench } from "./fleet.ts";
import { fleetJobsBench } from "./fleet-jobs.ts";
import { type BenchResult, loadResults, printResult, saveResults } from "./lib/report.ts";
import { mcpBench } from "./mcp.ts";
import { mcpEndpointBench } from "./mcp-endpoint.ts";
import { nodeBinaryBench } from "./node-binary.ts";
import { rpcBench } from "./rpc-roundtrip.ts";
import { schedulerBench } from "./scheduler.ts";
import { soakBench } from "./soak.ts";
import { throughputBench } from "./throughput.ts";

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

const BENCHMARKS: Record<string, () => Promise<BenchResult>> = {
  rpc: () => rpcBench({ calls: num("BENCH_RPC_CALLS", 10_000) }),
  "agent-step": () => agentStepBench({ runs: num("BENCH_STEP_RUNS", 40), toolTurns: 10 }),
  throughput: () => throughputBench({ runs: num("BENCH_RUNS", 1_000), nodes: 100 }),
  scheduler: () => schedulerBench({ jobs: num("BENCH_JOBS", 1_000) }),
  "node-binary": () => nodeBinaryBench({ starts: 5, idleSeconds: 5 }),
  fleet: () => fleetBench({ nodes: num("BENCH_FLEET_NODES", 10_000) }),
  "fleet-jobs": () => fleetJobsBench({ nodes: num("BENCH_FLEET_JOBS_NODES", 1_000) }),
  mcp: () => mcpBench({ calls: num("BENCH_MCP_CALLS", 500) }),
  "mcp-endpoint": () => mcpEndpointBench({ calls: num("BENCH_MCP_ENDPOINT_CALLS", 1_000) }),
  soak: () => soakBench({ minutes: num("BENCH_SOAK_MINUTES", 10), nodes: num("BENCH_SOAK_NODES", 1_000) }),
};
const ORDER = Object.keys(BENCHMARKS);
const DEFAULT = ORDER.filter((name) => name !== "soak");

// `node bench/run.ts render`: rewrite BENCHMARKS.md from bench/results.json without measuring anything.
if (process.argv[2] === "render") {
  saveResults(loadResults(), ORDER);
  console.log("rewrote BENCHMARKS.md from bench/results.json");
  process.exit(0);
}
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !BENCHMARKS[name]);
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; known: ${ORDER.join(", ")}`);
  process.exit(2);
}
const names = asked.length ? asked : DEFAULT;
console.log(
  `FabriCore benchmarks: ${names.join(", ")} on ${os.availableParallelism()} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
const results = loadResults();
let failures = 0;
for (const name of names) {
  const started = Date.now();
  try {
    const result = await BENCHMARKS[name]!();
    printResult(result);
    results[name] = result;
    saveResults(results, ORDER);
  } catch (error) {
    failures += 1;
    console.error(`\n== ${name} FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  }
}
console.log(`\nwrote BENCHMARKS.md and bench/results.json (${names.length - failures} of ${names.length} ran)`);
process.exit(failures ? 1 : 0);
