import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });
const unique = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

// Fleet jobs on every dialect: a job's selector and fan-out, child runs and how lists treat them.
describeEachDialect("fleet jobs storage", (get) => {
  const repos = () => createRepositories(get().db, box);

  it("jobs keep selector and fanOut; patch sets, keeps and clears them", async () => {
    const r = repos();
    const plain = await r.jobs.create({ name: unique("plain"), prompt: "p", model: { provider: "lm", model: "m" } });
    expect(plain).toMatchObject({ selector: null, fanOut: null });
    const fanOut = { mode: "each" as const, concurrency: 10, stopOnFailure: true, summarize: true };
    const job = await r.jobs.create({
      name: unique("fleet"),
      prompt: "Check disk space.",
      model: { provider: "lm", model: "m" },
      selector: "env=prod,role in (web,db),!canary",
      fanOut,
    });
    expect(await r.jobs.get(job.id)).toMatchObject({ selector: "env=prod,role in (web,db),!canary", fanOut });
    expect(await r.jobs.update(job.id, { prompt: "again" })).toMatchObject({ selector: job.selector, fanOut });
    expect(
      await r.jobs.update(job.id, { selector: "env=staging", fanOut: { ...fanOut, concurrency: 2 } }),
    ).toMatchObject({ selector: "env=staging", fanOut: { concurrency: 2 } });
    expect(await r.jobs.update(job.id, { selector: null, fanOut: null })).toMatchObject({
      selector: null,
      fanOut: null,
    });
  });

  it("child runs: created queued under their parent, claimed only by name, listed under it only", async () => {
    const r = repos();
    const job = await r.jobs.create({ name: unique("fan"), prompt: "p", model: { provider: "lm", model: "m" } });
    const parent = await r.runs.create({ jobId: job.id, trigger: "cron", input: { a: 1 } });
    expect(parent).toMatchObject({ parentRunId: null, nodeId: null, nodeName: null });
    const children = await r.runs.createChildren(
      parent,
      Array.from({ length: 450 }, (_, i) => ({ nodeId: `n${i}`, nodeName: `web-${i}` })),
    );
    expect(children).toHaveLength(450);
    expect(children[0]).toMatchObject({
      status: "queued",
      parentRunId: parent.id,
      jobId: job.id,
      trigger: "cron",
      nodeId: "n0",
      nodeName: "web-0",
      input: { a: 1 },
      owner: null,
    });
    expect((await r.runs.listChildren(parent.id)).map((c) => c.nodeName)).toEqual(children.map((c) => c.nodeName));

    // The queue passes children over: only the parent is claimed, however often it asks.
    expect(await r.runs.claimNext("core-a")).toMatchObject({ id: parent.id });
    expect(await r.runs.claimNext("core-a")).toBeUndefined();
    const [first, second, third] = children;
    expect(await r.runs.claim(first!.id, "core-a")).toMatchObject({ status: "running", owner: "core-a" });
    expect(await r.runs.claim(first!.id, "core-b")).toBeUndefined();
    expect(await r.runs.finish(second!.id, { status: "skipped", error: "node web-1 is offline" })).toMatchObject({
      status: "skipped",
      error: "node web-1 is offline",
    });
    expect(await r.runs.finish(second!.id, { status: "failed" })).toBeUndefined();
    await r.runs.finish(first!.id, { status: "succeeded", output: "ok" });

    const topLevel = await r.runs.list({ jobId: job.id });
    expect(topLevel.map((x) => x.id)).toEqual([parent.id]);
    expect(await r.runs.list({ parentRunId: parent.id, limit: 500 })).toHaveLength(450);
    expect((await r.runs.countByStatusSince("2000-01-01T00:00:00.000Z")).skipped).toBeGreaterThanOrEqual(1);

    // Cancelling what has not started leaves the finished ones alone.
    expect(await r.runs.cancelQueuedChildren(parent.id, "the parent was cancelled")).toBe(448);
    expect(await r.runs.get(third!.id)).toMatchObject({ status: "cancelled", error: "the parent was cancelled" });
    expect(await r.runs.get(first!.id)).toMatchObject({ status: "succeeded" });

    // Crash recovery: the dead owner's parent fails and its unstarted children are cancelled.
    const parent2 = await r.runs.create({ jobId: job.id, trigger: "manual" });
    await r.runs.claim(parent2.id, "core-x");
    const [c1, c2] = await r.runs.createChildren(parent2, [
      { nodeId: "a", nodeName: "a" },
      { nodeId: "b", nodeName: "b" },
    ]);
    await r.runs.claim(c1!.id, "core-x");
    expect((await r.runs.failStale({ owner: "core-x", reason: "replica died" })).sort()).toEqual(
      [parent2.id, c1!.id].sort(),
    );
    expect(await r.runs.get(c2!.id)).toMatchObject({ status: "cancelled" });

    // Deleting the job deletes parents and children alike.
    await r.jobs.delete(job.id);
    expect(await r.runs.listChildren(parent.id)).toEqual([]);
  });
});
