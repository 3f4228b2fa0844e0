import { describe, expect, it } from "vitest";
import { DbRunQueue } from "./run-queue.ts";

function fakeStore(ids: string[]) {
  const queued = [...ids];
  return {
    claim: async () => (queued.length ? { id: queued.shift()! } : undefined),
    cancelRequested: async () => [],
    queued,
  };
}

describe("DbRunQueue", () => {
  it("runs everything queued, never more than the concurrency at once", async () => {
    const store = fakeStore(Array.from({ length: 20 }, (_, i) => `r${i}`));
    let active = 0;
    let peak = 0;
    const done: string[] = [];
    const queue = new DbRunQueue({
      claim: store.claim,
      cancelRequested: store.cancelRequested,
      concurrency: 3,
      execute: async (id) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        done.push(id);
      },
    });
    queue.start();
    while (done.length < 20) await new Promise((r) => setTimeout(r, 5));
    await queue.stop();
    expect(peak).toBe(3);
    expect(new Set(done).size).toBe(20);
  });

  it("picks up work enqueued later and aborts local runs", async () => {
    const store = fakeStore([]);
    const aborted: string[] = [];
    const queue = new DbRunQueue({
      claim: store.claim,
      cancelRequested: store.cancelRequested,
      concurrency: 2,
      pollMs: 10_000,
      execute: (id, signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener("abort", () => {
            aborted.push(`${id}:${String(signal.reason)}`);
            resolve();
          });
        }),
    });
    queue.start();
    store.queued.push("late");
    await queue.enqueue("late");
    await new Promise((r) => setTimeout(r, 10));
    expect(queue.activeCount).toBe(1);
    expect(queue.abortLocal("late", "cancelled by admin")).toBe(true);
    expect(queue.abortLocal("nope", "x")).toBe(false);
    await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toEqual(["late:cancelled by admin"]);
    await queue.stop();
  });
});
