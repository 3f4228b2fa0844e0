/**
 * Soak (only when asked: `node bench/run.ts soak`): `nodes` simulated Nodes, one job per Node firing
 * every minute (a system_stats call, then the answer), for `minutes`. Samples the Core's RSS, open
 * descriptors and event-loop delay every 30 s; reports their growth and the runs lost, if any.
 */
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { adminApi, enrollNodes, startCoreHost, startFleet, tempDir, waitConnected } from "./lib/fleet-setup.ts";
import { httpLoad } from "./lib/http-load.ts";
import { openFds, rssBytes, sleep } from "./lib/proc.ts";
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

export async function soakBench(options: SoakOptions): Promise<BenchResult> {
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
  const fleet = await startFleet(core.url, credentials, {
    processes: Math.max(1, Math.ceil(options.nodes / 2500)),
    rampMs: options.nodes * 2,
  });
  const samples: Sample[] = [];
  try {
    await waitConnected(fleet, options.nodes, 180_000);
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
    let heapEarly: { heapUsed: number; atS: number } | undefined;
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
        heapEarly = {
          heapUsed: (await core.child.request<{ heapUsed: number }>({ type: "memory" })).heapUsed,
          atS: sample.atS,
        };
      }
      console.log(
        `  soak ${sample.atS}s: RSS ${fmtBytes(sample.rss)}, fds ${sample.fds}, loop p99 ${fmt(sample.lagP99)} ms, ` +
          `runs finished ${sample.finished}`,
      );
    }
    // Let the runs of the last minute finish before counting.
    await sleep(15_000);
    const overview = await api<{ runsLast24h: Record<string, number> }>("GET", "/api/overview");
    const status = await fleet.status();
    const heapEnd = (await core.child.request<{ heapUsed: number }>({ type: "memory" })).heapUsed;
    const first = samples[Math.min(1, samples.length - 1)]!;
    const last = samples[samples.length - 1]!;
    const lagP99 = Math.max(...samples.map((s) => s.lagP99));
    rows.push({
      metric: `Core RSS, ${first.atS} s → ${last.atS} s`,
      value: `${fmtBytes(first.rss)} → ${fmtBytes(last.rss)} (${fmtBytes(last.rss - first.rss)})`,
      baseline: `samples: ${samples.map((s) => fmtBytes(s.rss)).join(", ")}`,
    });
    if (heapEarly) {
      rows.push({
        metric: `Core JS heap after a full GC, ${heapEarly.atS} s → end`,
        value: `${fmtBytes(heapEarly.heapUsed)} → ${fmtBytes(heapEnd)} (${fmtBytes(heapEnd - heapEarly.heapUsed)})`,
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
    await fleet.stop();
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
