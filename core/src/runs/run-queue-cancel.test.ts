import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createRepositories } from "../database/repos/index.ts";
import { describeEachDialect } from "../database/testing/dialects.ts";
import { SecretBox } from "../secrets/secret-box.ts";
import { DbRunQueue } from "./run-queue.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Two Cores on one database without cluster mode: each runs a DbRunQueue. A cancel that reaches
// the Core not executing the run can only store the request (Runs.cancel: abortLocal is false
// there); the owner must poll for it, or the run goes on until it ends by itself.
describeEachDialect("DbRunQueue: a cancel asked through another process", (get) => {
  it("reaches the owner executing the run within a poll", async () => {
    const here = createRepositories(get().db, box);
    const other = get().openAnother();
    const there = createRepositories(other.db, box);
    const job = await here.jobs.create({
      name: `job-${randomBytes(4).toString("hex")}`,
      prompt: "p",
      model: { provider: "lm", model: "m" },
    });
    const run = await here.runs.create({ jobId: job.id, trigger: "manual" });

    const aborted: string[] = [];
    const owner = new DbRunQueue({
      claim: () => here.runs.claimNext("replica-a"),
      cancelRequested: (ids) => here.runs.cancelRequested(ids),
      cancelPollMs: 50,
      concurrency: 1,
      execute: (runId, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted.push(`${runId}:${String(signal.reason)}`);
            resolve();
          });
        }),
    });
    // The other process's queue: it runs nothing (no queued runs left), so abortLocal is false.
    const elsewhere = new DbRunQueue({
      claim: () => there.runs.claimNext("replica-b"),
      cancelRequested: (ids) => there.runs.cancelRequested(ids),
      concurrency: 1,
      execute: async () => {},
    });
    owner.start();
    elsewhere.start();
    try {
      await until(() => owner.activeCount === 1, 5_000, "the owner to claim the run");
      expect((await there.runs.get(run.id))?.owner).toBe("replica-a");

      // What Runs.cancel does on the process that does not execute the run.
      expect(elsewhere.abortLocal(run.id, "cancelled by a user")).toBe(false);
      const requested = await there.runs.requestCancel(run.id);
      expect(requested?.cancelRequestedAt).not.toBeNull();

      await until(() => aborted.length > 0, 5_000, "the owner to abort the run");
      expect(aborted).toEqual([`${run.id}:cancelled by a user`]);
      await until(() => owner.activeCount === 0, 2_000, "the run to settle");
    } finally {
      await owner.stop();
      await elsewhere.stop();
    }
  });
});

describe("DbRunQueue cancel poll", () => {
  it("leaves runs without a cancel request alone, and polls only while something runs here", async () => {
    const calls: string[][] = [];
    let release: (() => void) | undefined;
    const queued = ["r1"];
    const queue = new DbRunQueue({
      claim: async () => (queued.length ? { id: queued.shift()! } : undefined),
      cancelRequested: async (ids) => {
        calls.push(ids);
        return [];
      },
      cancelPollMs: 20,
      concurrency: 1,
      execute: (_runId, signal) =>
        new Promise<void>((resolve) => {
          release = resolve;
          signal.addEventListener("abort", () => resolve());
        }),
    });
    queue.start();
    try {
      await until(() => calls.length >= 3, 2_000, "three polls");
      expect(calls.every((ids) => ids.length === 1 && ids[0] === "r1")).toBe(true);
      expect(queue.activeCount).toBe(1);
      release?.();
      await until(() => queue.activeCount === 0, 2_000, "the run to end");
      const after = calls.length;
      await new Promise((r) => setTimeout(r, 100));
      expect(calls.length).toBe(after);
    } finally {
      await queue.stop();
    }
  });
});
