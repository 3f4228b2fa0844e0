/**
 * Soak (only when asked: `node bench/run.ts soak`): `nodes` simulated Nodes, one job per Node firing
 * every minute (a system_stats call, then the answer), for `minutes`. Samples the Core's RSS, open
 * descriptors and event-loop delay every 30 s; reports their growth and the runs lost, if any.
 */
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import {
  adminApi,
  enrollNodes,
  type Fleet,
  joinFleets,
  startCoreHost,
  startFleet,
  tempDir,
  waitConnected,
} from "./lib/fleet-setup.ts";
import { httpLoad } from "./lib/http-load.ts";
import { type Child, openFds, rssBytes, sleep } from "./lib/proc.ts";
import { type BenchResult, machine, type Row } from "./lib/report.ts";
import { fmt, fmtBytes } from "./lib/stats.ts";

export interface SoakOptions {
  minutes: number;
  nodes: number;
}

interface Sample {
  atS: number;
  rss: number;
  fds: number;
  lagP99: number;
  lagMax: number;
  finished: number;
}

/** Heartbeats are every 10 s (the Core's default); two intervals per measurement. */
const INTAKE_WINDOW_MS = 20_000;

interface IntakeStep {
  online: number;
  beatsPerSecond: number;
  cpuMsPerSecond: number;
  lagP99: number;
}

/** Heartbeats received and CPU used by the Core over `windowMs`, with no jobs running. */
async function measureIntake(core: Child, windowMs: number): Promise<IntakeStep> {
  type Intake = { heartbeats: number; cpuMs: number; online: number };
  await core.request({ type: "loopDelay" }); // reset
  const a = await core.request<Intake>({ type: "intake" });
  const t0 = Date.now();
  await sleep(windowMs);
  const b = await core.request<Intake>({ type: "intake" });
  const seconds = (Date.now() - t0) / 1000;
  const lag = await core.request<{ p99: number }>({ type: "loopDelay" });
  return {
    online: b.online,
    beatsPerSecond: (b.heartbeats - a.heartbeats) / seconds,
    cpuMsPerSecond: (b.cpuMs - a.cpuMs) / seconds,
    lagP99: lag.p99,
  };
}

function intakeRows(steps: IntakeStep[]): Row[] {
  const perNode = steps.map((s) => s.beatsPerSecond / Math.max(1, s.online));
  // The idle Core has a fixed CPU floor (timers, the sweep, metrics); what a beat costs is the slope.
  const first = steps[0]!;
  const last = steps[steps.length - 1]!;
  const marginalUs =
    (1000 * (last.cpuMsPerSecond - first.cpuMsPerSecond)) / Math.max(1, last.beatsPerSecond - first.beatsPerSecond);
  return [
    {
      metric: "heartbeat intake as the fleet grows (Nodes: beats/s, Core CPU, loop p99)",
      value: steps
        .map((s) => `${s.online}: ${fmt(s.beatsPerSecond)}/s, ${fmt(s.cpuMsPerSecond / 10)}% CPU, ${fmt(s.lagP99)} ms`)
        .join("; "),
      baseline: "one beat per Node per 10 s = 0.1/s per Node",
    },
    {
      metric: "heartbeats per Node per second, smallest → largest fleet",
      value: `${perNode.map((v) => fmt(v)).join(" → ")}`,
      target: "flat (bounded by the interval)",
      verdict: perNode.every((v) => v <= 0.12) ? "met" : "missed",
    },
    {
      metric: "Core CPU per extra heartbeat (slope from the smallest to the largest fleet)",
      value: `${fmt(marginalUs)} µs`,
      baseline: `idle Core with ${first.online} Nodes: ${fmt(first.cpuMsPerSecond / 10)}% CPU`,
    },
  ];
}

export async function soakBench(options: SoakOptions): Promise<BenchResult> {
  // For finding what grows: heap snapshots of the Core after the first minute and at the end.
  const snapshotDir = process.env.BENCH_SOAK_SNAPSHOTS;
  const started = Date.now();
  const rows: Row[] = [];
  const notes: string[] = [];
  const llm = await startScriptedOpenAiServer({
    script: (request: RecordedRequest) => {
      const body = request.body as { messages: Array<{ role: string }> };
      return body.messages.some((m) => m.role === "tool")
        ? turn.text("Load is fine.")
        : turn.toolCalls([{ name: "system_stats", arguments: {} }]);
    },
  });
  const dataDir = tempDir("soak");
  const credentials = await enrollNodes(dataDir, options.nodes);
  const core = await startCoreHost({ dataDir, env: { FABRICORE_RUN_CONCURRENCY: "32" } });
  const samples: Sample[] = [];
  const fleets: Fleet[] = [];
  // The fleet so far (it grows in steps below).
  const fleet = () => joinFleets(...fleets);
  try {
    // The fleet grows in quarters; at each size the Core's heartbeat intake is measured over two
    // heartbeat intervals: it must grow with the fleet, linearly, and cost the same per beat.
    const intake: IntakeStep[] = [];
    const quarter = Math.ceil(options.nodes / 4);
    for (let from = 0; from < options.nodes; from += quarter) {
      const part = credentials.slice(from, from + quarter);
      fleets.push(await startFleet(core.url, part, { processes: 1, rampMs: part.length * 2 }));
      await waitConnected(fleet(), from + part.length, 180_000);
      intake.push(await measureIntake(core.child, INTAKE_WINDOW_MS));
    }
    rows.push(...intakeRows(intake));
    const api = await adminApi(core.url);
    await api("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const nodes = (await api<Array<{ id: string; name: string }>>("GET", "/api/nodes")).filter((n) =>
      n.name.startsWith("sim-"),
    );
    // One job per Node, every minute, on second i % 60: the load is spread over the minute as cron users do.
    const created = await httpLoad(nodes.length, 8, (i) => ({
      url: `${core.url}/api/jobs`,
      init: {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${api.token}` },
        body: JSON.stringify({
          name: `soak-${i}`,
          prompt: "Check the load.",
          model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
          nodes: [nodes[i]!.id],
          tools: ["system_stats"],
          schedule: { cron: `${i % 60} * * * * *`, timezone: "UTC" },
          maxSteps: 4,
        }),
      },
    }));
    if (created.failed) throw new Error(`creating jobs failed: ${created.errors.join("; ")}`);
    const t0 = Date.now();
    await core.child.request({ type: "loopDelay" }); // reset
    type Memory = { rss: number; heapUsed: number; heapTotal: number };
    let heapEarly: (Memory & { atS: number }) | undefined;
    const end = t0 + options.minutes * 60_000;
    while (Date.now() < end) {
      await sleep(Math.min(30_000, end - Date.now()));
      const lag = await core.child.request<{ p99: number; max: number }>({ type: "loopDelay" });
      const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
      const sample: Sample = {
        atS: Math.round((Date.now() - t0) / 1000),
        rss: rssBytes(core.child.pid),
        fds: openFds(core.child.pid),
        lagP99: lag.p99,
        lagMax: lag.max,
        finished: (overview.runsLast24h.succeeded ?? 0) + (overview.runsLast24h.failed ?? 0),
      };
      samples.push(sample);
      // The JS heap after a full GC, once after the first minute and once at the end: live data only.
      if (!heapEarly && sample.atS >= 55) {
        heapEarly = { ...(await core.child.request<Memory>({ type: "memory" })), atS: sample.atS };
        if (snapshotDir)
          console.log(`  heap snapshot: ${await core.child.request({ type: "snapshot", dir: snapshotDir })}`);
      }
      console.log(
        `  soak ${sample.atS}s: RSS ${fmtBytes(sample.rss)}, fds ${sample.fds}, loop p99 ${fmt(sample.lagP99)} ms, ` +
          `runs finished ${sample.finished}`,
      );
    }
    // Let the runs of the last minute finish before counting.
    await sleep(15_000);
    const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
    const status = await fleet().status();
    const memoryEnd = await core.child.request<Memory>({ type: "memory" });
    if (snapshotDir)
      console.log(`  heap snapshot: ${await core.child.request({ type: "snapshot", dir: snapshotDir })}`);
    const first = samples[Math.min(1, samples.length - 1)]!;
    const last = samples[samples.length - 1]!;
    const lagP99 = Math.max(...samples.map((s) => s.lagP99));
    rows.push({
      metric: `Core RSS, ${first.atS} s → ${last.atS} s`,
      value: `${fmtBytes(first.rss)} → ${fmtBytes(last.rss)} (${fmtBytes(last.rss - first.rss)})`,
      baseline: `samples: ${samples.map((s) => fmtBytes(s.rss)).join(", ")}`,
    });
    if (heapEarly) {
      const growth = (a: number, b: number) => `${fmtBytes(a)} → ${fmtBytes(b)} (${fmtBytes(b - a)})`;
      rows.push({
        metric: `Core JS heap after a full GC, ${heapEarly.atS} s → end`,
        value: growth(heapEarly.heapUsed, memoryEnd.heapUsed),
      });
      // Where RSS growth is when the live heap is flat: V8's committed pages, or outside V8
      // (SQLite's page cache, malloc arenas, socket buffers).
      rows.push({
        metric: `Core RSS after a full GC, ${heapEarly.atS} s → end: V8 heap committed, the rest outside V8`,
        value:
          `V8 ${growth(heapEarly.heapTotal, memoryEnd.heapTotal)}; outside ` +
          growth(heapEarly.rss - heapEarly.heapTotal, memoryEnd.rss - memoryEnd.heapTotal),
        baseline: `RSS ${growth(heapEarly.rss, memoryEnd.rss)}`,
      });
    }
    rows.push({
      metric: "open descriptors of the Core",
      value: `${first.fds} → ${last.fds}`,
      baseline: `${options.nodes} Node sockets`,
    });
    rows.push({
      metric: "event-loop delay p99 (worst 30 s window)",
      value: `${fmt(lagP99)} ms (max ${fmt(Math.max(...samples.map((s) => s.lagMax)))} ms)`,
    });
    rows.push({
      metric: "runs",
      value: `${JSON.stringify(overview.runsLast24h)}; ${status.executions} tool executions, ${status.duplicates} duplicates`,
      baseline: `${options.nodes} jobs × ${options.minutes} min`,
    });
  } finally {
    await fleet().stop();
    await core.child.kill();
    await llm.close();
  }
  return {
    id: "soak",
    title: `Soak: ${options.nodes} Nodes, a job a minute each, ${options.minutes} min`,
    method:
      `${options.nodes} simulated Nodes on the real Core (child process, SQLite, run concurrency 32), one cron job per Node ` +
      "every minute (a system_stats call, then the answer from the scripted LM Studio). Every 30 s: the Core's RSS and open " +
      "descriptors from /proc, its event-loop delay (monitorEventLoopDelay, 10 ms resolution) and the finished runs.",
    rows,
    notes,
    measuredAt: new Date().toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    machine: machine(),
  };
}
