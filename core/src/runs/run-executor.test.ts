import { describe, expect, it } from "vitest";
import type { Run } from "../database/types.ts";
import { createMetrics } from "../metrics.ts";
import { LocalRunEventBus } from "./run-events.ts";
import { RunExecutor, type RunExecutorDeps } from "./run-executor.ts";

/** A driver error as better-sqlite3 throws it. */
const sqliteError = (code: string) =>
  Object.assign(new Error(code === "SQLITE_FULL" ? "database or disk is full" : code), { code });

type LogLine = { level: "info" | "warn" | "error"; obj: object | string; msg?: string | undefined };

function executor(finish: () => Promise<unknown>, finishRetryMs?: number) {
  const calls: unknown[] = [];
  const logged: LogLine[] = [];
  const log = (level: LogLine["level"]) => (obj: object | string, msg?: string) =>
    void logged.push({ level, obj, msg });
  const deps = {
    runs: {
      get: async (id: string) => ({ id, jobId: "gone", trigger: "manual" }) as unknown as Run,
      finish: async (_id: string, fields: unknown) => {
        calls.push(fields);
        return finish();
      },
    },
    // The job is gone: the run ends at once, and only recording its end is left.
    jobs: { get: async () => undefined },
    events: new LocalRunEventBus(),
    metrics: createMetrics(),
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    ...(finishRetryMs !== undefined ? { finishRetryMs } : {}),
  } as unknown as RunExecutorDeps;
  return { executor: new RunExecutor(deps), calls, logged };
}

describe("RunExecutor recording a run's end", () => {
  it("retries while the disk is full or the database locked, so the run does not stay running", async () => {
    let failures = 2;
    const { executor: ex, calls } = executor(async () => {
      if (failures-- === 2) throw sqliteError("SQLITE_FULL");
      if (failures === 0) throw sqliteError("SQLITE_BUSY");
      return undefined;
    });
    await ex.execute("r1", new AbortController().signal);
    expect(calls).toHaveLength(3);
    expect(calls[2]).toMatchObject({ status: "failed", error: "the job was deleted" });
  });

  it("gives up after finishRetryMs, and does not retry other errors", async () => {
    const full = executor(async () => {
      throw sqliteError("SQLITE_FULL");
    }, 300);
    await expect(full.executor.execute("r2", new AbortController().signal)).rejects.toThrow(/disk is full/);
    expect(full.calls.length).toBeGreaterThan(1);
    const broken = executor(async () => {
      throw new Error("no such table: runs");
    });
    await expect(broken.executor.execute("r3", new AbortController().signal)).rejects.toThrow(/no such table/);
    expect(broken.calls).toHaveLength(1);
  });

  it("logs one structured line per run outcome, a failure as a warning with its reason", async () => {
    const { executor: ex, logged } = executor(async () => undefined);
    await ex.execute("r4", new AbortController().signal);
    expect(logged).toEqual([
      {
        level: "warn",
        obj: {
          runId: "r4",
          jobId: "gone",
          trigger: "manual",
          status: "failed",
          durationMs: expect.any(Number),
          error: "the job was deleted",
        },
        msg: "run failed",
      },
    ]);
  });
});
