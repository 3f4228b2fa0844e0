import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import type { Clock } from "./clock.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

// Runs waiting for their offline Nodes (issue 22.1, a job's offlineNodes "wait") on every dialect:
// a parked run is a queued row no claim takes before `not_before`, that a Node coming online
// makes due, and that a cancel ends at once.
describeEachDialect("runs waiting for their Nodes", (get) => {
  let now = Date.parse("2026-12-07T10:00:00.000Z");
  const clock: Clock = () => new Date(now);
  const iso = (ms: number) => new Date(ms).toISOString();

  const setup = async () => {
    const r = createRepositories(get().db, box, { clock });
    const job = await r.jobs.create({
      name: `wait-${randomBytes(4).toString("hex")}`,
      prompt: "p",
      model: { provider: "lm", model: "m" },
      offlineNodes: "wait",
      waitForNodesSeconds: 90,
    });
    return { r, job };
  };
  const waiting = (nodeIds: string[]) => ({
    nodeIds,
    nodes: nodeIds.map((id) => `name-of-${id}`),
    since: iso(now),
    until: iso(now + 90_000),
  });

  it("stores the job setting and patches it", async () => {
    const { r, job } = await setup();
    expect(job).toMatchObject({ offlineNodes: "wait", waitForNodesSeconds: 90 });
    const patched = await r.jobs.update(job.id, { offlineNodes: "fail" });
    expect(patched).toMatchObject({ offlineNodes: "fail", waitForNodesSeconds: 90 });
  });

  it("a parked run is queued, passed over by claimNext and claim until not_before, then claimed", async () => {
    const { r, job } = await setup();
    const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const other = await r.runs.create({ jobId: job.id, trigger: "manual" });
    expect((await r.runs.claimNext("owner-1"))?.id).toBe(run.id);
    expect(await r.runWaits.park(run.id, waiting(["node-a"]), iso(now + 10_000))).toBe(true);
    const parked = await r.runs.get(run.id);
    expect(parked).toMatchObject({ status: "queued", owner: null, startedAt: null, waiting: waiting(["node-a"]) });
    // The other queued run is claimed; the parked one is not due.
    expect((await r.runs.claimNext("owner-1"))?.id).toBe(other.id);
    expect(await r.runs.claimNext("owner-1")).toBeUndefined();
    expect(await r.runs.claim(run.id, "owner-2")).toBeUndefined();
    expect(await r.runWaits.dueQueuedIds()).not.toContain(run.id);
    now += 10_000;
    expect(await r.runWaits.dueQueuedIds()).toContain(run.id);
    expect((await r.runs.claim(run.id, "owner-2"))?.status).toBe("running");
    await r.runWaits.clear(run.id);
    expect((await r.runs.get(run.id))?.waiting).toBeNull();
  });

  it("wake makes due exactly the runs waiting on that Node", async () => {
    const { r, job } = await setup();
    const onA = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const onB = await r.runs.create({ jobId: job.id, trigger: "manual" });
    for (const [run, nodes] of [
      [onA, ["node-a", "node-c"]],
      [onB, ["node-b"]],
    ] as const) {
      await r.runs.claim(run.id, "owner-1");
      expect(await r.runWaits.park(run.id, waiting([...nodes]), iso(now + 60_000))).toBe(true);
    }
    // A LIKE wildcard in an id matches nothing it should not.
    expect(await r.runWaits.wake("node_%")).toEqual([]);
    expect(await r.runWaits.wake("node-c")).toEqual([onA.id]);
    expect((await r.runs.claimNext("owner-1"))?.id).toBe(onA.id);
    expect(await r.runs.claimNext("owner-1")).toBeUndefined();
    expect(await r.runWaits.wake("node-b")).toEqual([onB.id]);
    expect((await r.runs.claim(onB.id, "owner-1"))?.id).toBe(onB.id);
  });

  it("a cancel asked for while claimed keeps it from being parked; a parked run cancels at once", async () => {
    const { r, job } = await setup();
    const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
    await r.runs.claim(run.id, "owner-1");
    await r.runs.requestCancel(run.id);
    expect(await r.runWaits.park(run.id, waiting(["node-a"]), iso(now + 1000))).toBe(false);
    const parked = await r.runs.create({ jobId: job.id, trigger: "manual" });
    await r.runs.claim(parked.id, "owner-1");
    expect(await r.runWaits.park(parked.id, waiting(["node-a"]), iso(now + 60_000))).toBe(true);
    expect((await r.runs.requestCancel(parked.id))?.status).toBe("cancelled");
    expect(await r.runWaits.wake("node-a")).toEqual([]);
  });
});
