/**
 * The real Core (createCore, the composition root main.ts uses, settings from FABRICORE_* like
 * main.ts) in a child process, plus an IPC side door for what the API does not expose: its own
 * memory after a full GC (start it with --expose-gc), event-loop delay, open descriptors, and one
 * tool call to every online Node through the real NodeHub.
 */
import { readdirSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import { createCore } from "@fabricore/core/core.ts";
import { loadCoreEnv } from "@fabricore/core/env.ts";
import pino from "pino";
import { serveIpc } from "../lib/proc.ts";
import { summarize } from "../lib/stats.ts";

const env = loadCoreEnv();
const logger = pino({ level: env.FABRICORE_LOG_LEVEL });
const core = await createCore(env, { logger });
const address = await core.listen();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

serveIpc({
  memory() {
    gc();
    const m = process.memoryUsage();
    return {
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      // Where the committed heap is: new space (young generation) grows under load and is a large
      // share of a fleet's "per Node" figure unless it is measured separately.
      spaces: Object.fromEntries(
        getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
      ),
    };
  },
  /** A heap snapshot (for finding what a connection keeps alive); returns its path. */
  snapshot(message: { dir?: string }) {
    gc();
    return writeHeapSnapshot(message.dir ? `${message.dir}/core-${Date.now()}.heapsnapshot` : undefined);
  },
  online() {
    return core.ctx.hub.onlineCount();
  },
  /** Heartbeats received so far and the process's CPU time, to show heartbeat intake per Node. */
  async intake() {
    const cpu = process.cpuUsage();
    return {
      heartbeats: (await core.ctx.metrics.heartbeats.get()).values[0]?.value ?? 0,
      cpuMs: (cpu.user + cpu.system) / 1000,
      online: core.ctx.hub.onlineCount(),
    };
  },
  fds() {
    return readdirSync("/proc/self/fd").length;
  },
  /** Event-loop delay since the last call, in milliseconds; resets the histogram. */
  loopDelay() {
    const result = {
      p50: loop.percentile(50) / 1e6,
      p99: loop.percentile(99) / 1e6,
      max: loop.max / 1e6,
      count: loop.count,
    };
    loop.reset();
    return result;
  },
  /** One `tools/call` to every online Node at once; times the whole fan-out and each call. */
  async dispatchAll(message: { tool: string; deadlineMs?: number }) {
    const ids = core.ctx.hub.onlineNodeIds();
    const latencies: number[] = [];
    let failed = 0;
    const errors = new Map<string, number>();
    const tag = `${Date.now().toString(36)}`;
    const started = performance.now();
    await Promise.all(
      ids.map(async (nodeId, i) => {
        const t0 = performance.now();
        try {
          await core.ctx.hub.callTool(nodeId, {
            name: message.tool,
            source: "builtin",
            arguments: {},
            deadlineMs: message.deadlineMs ?? 60_000,
            callId: `fanout-${tag}-${i}`,
          });
          latencies.push(performance.now() - t0);
        } catch (error) {
          failed += 1;
          const key = error instanceof Error ? error.message.slice(0, 80) : String(error);
          errors.set(key, (errors.get(key) ?? 0) + 1);
        }
      }),
    );
    return {
      nodes: ids.length,
      ok: latencies.length,
      failed,
      errors: [...errors.entries()].slice(0, 5),
      totalMs: performance.now() - started,
      latency: summarize(latencies),
    };
  },
  async close() {
    await core.close();
    return {};
  },
});
// A clean exit on SIGTERM, so that --cpu-prof (BENCH_CORE_PROFILE) gets written.
process.on("SIGTERM", () => {
  void core.close().finally(() => process.exit(0));
});
process.send?.({ type: "ready", address });
