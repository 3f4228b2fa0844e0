import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemoryTransport } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import type { ChatRequest } from "../llm/types.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import { createTestNode, type TestNode } from "../testing/test-node.ts";

/** Issue 22.1, the "wait" half: a job with `offlineNodes: "wait"` keeps a run queued while every
 * target Node is offline, starts it when one connects, fails it with nodes_offline after
 * `waitForNodesSeconds`, and lets it be cancelled while it waits; the wait outlives a restart. */

const seen: ChatRequest[] = [];
const model = new RecordingLlmClient((request) => {
  seen.push(request);
  return { text: "report from what the tools said" };
});

const dataDir = mkdtempSync(join(tmpdir(), "fabricore-offline-wait-"));
let t: TestCore;
let admin: string;
const started: TestNode[] = [];

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The real Node program for an enrolled Node, connected over an in-memory pair. */
async function connect(core: TestCore, id: string, name: string): Promise<TestNode> {
  const node = createTestNode(async () => {
    const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
    core.core.hub.accept(coreSide, { nodeId: id, name });
    return nodeSide;
  });
  node.manager.start();
  started.push(node);
  await until(async () => core.core.hub.isOnline(id), Boolean, 5_000, `${name} online`);
  return node;
}

async function enrollOffline(name: string): Promise<string> {
  return (await t.core.ctx.fleet.enroll(name, {})).id;
}

async function job(name: string, nodes: string[], extra: Record<string, unknown> = {}) {
  const res = await t.api(admin, "POST", "/api/jobs", {
    name,
    prompt: "Check disk space and summarise.",
    model: { provider: "fake", model: "m" },
    nodes,
    offlineNodes: "wait",
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { id: string; offlineNodes: string; waitForNodesSeconds: number };
}

async function runNow(jobId: string): Promise<string> {
  const res = await t.api(admin, "POST", `/api/jobs/${jobId}/run`, {});
  expect(res.status).toBe(202);
  return res.body.runId as string;
}

const getRun = async (core: TestCore, token: string, id: string) =>
  (await core.api(token, "GET", `/api/runs/${id}`)).body;

beforeAll(async () => {
  t = await startTestCore({ llm: () => model, dataDir });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
});

afterAll(async () => {
  for (const node of started) await node.manager.stop();
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("a job that waits for its offline Nodes", () => {
  it("stores the setting, with the default wait; fail stays the default", async () => {
    const waiting = await job("setting-wait", [await enrollOffline("setting-1")]);
    expect(waiting).toMatchObject({ offlineNodes: "wait", waitForNodesSeconds: 600 });
    const plain = await t.api(admin, "POST", "/api/jobs", {
      name: "setting-fail",
      prompt: "p",
      model: { provider: "fake", model: "m" },
    });
    expect(plain.body).toMatchObject({ offlineNodes: "fail", waitForNodesSeconds: 600 });
    const patched = await t.api(admin, "PATCH", `/api/jobs/${plain.body.id}`, { waitForNodesSeconds: 30 });
    expect(patched.body).toMatchObject({ offlineNodes: "fail", waitForNodesSeconds: 30 });
    const bad = await t.api(admin, "PATCH", `/api/jobs/${plain.body.id}`, { offlineNodes: "later" });
    expect(bad.status).toBe(400);
  });

  it("stays queued naming the Node, then runs with its tools once it connects", async () => {
    const id = await enrollOffline("late-1");
    const j = await job("waits-then-runs", [id], { waitForNodesSeconds: 120 });
    const before = seen.length;
    const runId = await runNow(j.id);
    const waiting = await until(
      () => getRun(t, admin, runId),
      (r) => r.waiting !== null,
      5_000,
      "the run to wait",
    );
    expect(waiting.status).toBe("queued");
    expect(waiting.startedAt).toBeNull();
    expect(waiting.waiting).toMatchObject({ nodes: ["late-1"], nodeIds: [id] });
    expect(Date.parse(waiting.waiting.until) - Date.parse(waiting.waiting.since)).toBe(120_000);
    // It holds no run slot and asks no model while it waits.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(t.core.ctx.queue.activeCount).toBe(0);
    expect(seen.length).toBe(before);
    expect((await getRun(t, admin, runId)).status).toBe("queued");

    const connectedAt = Date.now();
    await connect(t, id, "late-1");
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the run to end",
    );
    // Woken by the Node's hello, not by the 10 s recheck.
    expect(Date.now() - connectedAt).toBeLessThan(5_000);
    expect(done).toMatchObject({ status: "succeeded", errorCode: null, waiting: null });
    expect(seen[before]?.tools?.length ?? 0).toBeGreaterThan(0);
  });

  it("fails with nodes_offline after waitForNodesSeconds, saying it waited", async () => {
    const j = await job("waits-then-fails", [await enrollOffline("never-1")], { waitForNodesSeconds: 2 });
    const before = seen.length;
    const runId = await runNow(j.id);
    const queuedAt = Date.now();
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the run to fail",
    );
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(1_900);
    expect(done).toMatchObject({ status: "failed", errorCode: "nodes_offline", waiting: null });
    expect(done.error).toContain("every target Node is offline (never-1): none came online in the 2 s");
    expect(done.steps).toEqual([]);
    expect(seen.length).toBe(before);
  });

  it("is cancelled at once while it waits", async () => {
    const j = await job("waits-then-cancelled", [await enrollOffline("gone-1")], { waitForNodesSeconds: 300 });
    const runId = await runNow(j.id);
    await until(
      () => getRun(t, admin, runId),
      (r) => r.waiting !== null,
      5_000,
      "the run to wait",
    );
    const cancelled = await t.api(admin, "POST", `/api/runs/${runId}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe("cancelled");
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await getRun(t, admin, runId)).status).toBe("cancelled");
  });

  it("a job with offlineNodes fail still fails at once", async () => {
    const j = await job("fails-at-once", [await enrollOffline("down-9")], { offlineNodes: "fail" });
    const runId = await runNow(j.id);
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => r.status === "failed",
      5_000,
      "the run to fail",
    );
    expect(done.errorCode).toBe("nodes_offline");
    expect(done.error).toContain("the agent was not started");
  });

  it("a fan-out: a child whose Node is offline waits on its own and runs when the Node connects", async () => {
    const up = await t.connectNode("fan-up");
    const lateId = await enrollOffline("fan-late");
    const j = await job("fan-waits", [up.id, lateId], {
      fanOut: { mode: "each", concurrency: 2 },
      waitForNodesSeconds: 120,
    });
    const runId = await runNow(j.id);
    const waiting = await until(
      () => getRun(t, admin, runId),
      (r) =>
        r.children?.some(
          (c: { nodeName: string; status: string }) => c.nodeName === "fan-up" && c.status === "succeeded",
        ) && r.children?.some((c: { nodeName: string; waiting: unknown }) => c.nodeName === "fan-late" && c.waiting),
      10_000,
      "one child done, the other waiting",
    );
    expect(waiting.status).toBe("running");
    const late = waiting.children.find((c: { nodeName: string }) => c.nodeName === "fan-late");
    expect(late).toMatchObject({ status: "queued", waiting: { nodes: ["fan-late"], nodeIds: [lateId] } });
    await connect(t, lateId, "fan-late");
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the fan-out to end",
    );
    expect(done.status, JSON.stringify(done.children)).toBe("succeeded");
    expect(done.summary).toMatchObject({ total: 2, succeeded: 2, skipped: 0 });
    expect(done.children.every((c: { waiting: unknown }) => c.waiting === null)).toBe(true);
  });

  it("a fan-out: a child whose Node stays offline is skipped at the deadline, saying it waited", async () => {
    const up = await t.connectNode("fan-up-2");
    const j = await job("fan-gives-up", [up.id, await enrollOffline("fan-never")], {
      fanOut: { mode: "each", concurrency: 2 },
      waitForNodesSeconds: 2,
    });
    const runId = await runNow(j.id);
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the fan-out to end",
    );
    expect(done.status).toBe("failed");
    expect(done.summary).toMatchObject({ total: 2, succeeded: 1, skipped: 1 });
    const never = done.children.find((c: { nodeName: string }) => c.nodeName === "fan-never");
    expect(never.error).toContain("node fan-never is offline: it did not come online by");
  });

  it("a fan-out whose Nodes are all offline waits as a whole (queued), then runs", async () => {
    const id = await enrollOffline("fan-all-late");
    const j = await job("fan-all-wait", [id], { fanOut: { mode: "each", concurrency: 2 }, waitForNodesSeconds: 120 });
    const runId = await runNow(j.id);
    const waiting = await until(
      () => getRun(t, admin, runId),
      (r) => r.waiting !== null,
      5_000,
      "the parent to wait",
    );
    expect(waiting).toMatchObject({ status: "queued", waiting: { nodes: ["fan-all-late"] } });
    expect(waiting.children ?? []).toEqual([]);
    await connect(t, id, "fan-all-late");
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the fan-out to end",
    );
    expect(done).toMatchObject({ status: "succeeded", waiting: null, summary: { total: 1, succeeded: 1 } });
  });

  it("keeps waiting across a Core restart and runs when the Node connects to the new Core", async () => {
    const id = await enrollOffline("restart-1");
    const j = await job("waits-across-restart", [id], { waitForNodesSeconds: 300 });
    const runId = await runNow(j.id);
    const waited = await until(
      () => getRun(t, admin, runId),
      (r) => r.waiting !== null,
      5_000,
      "the run to wait",
    );
    await t.close();
    t = await startTestCore({ llm: () => model, dataDir });
    admin = await t.login();
    const after = await getRun(t, admin, runId);
    expect(after).toMatchObject({ status: "queued", waiting: waited.waiting });
    await new Promise((r) => setTimeout(r, 1_200));
    expect((await getRun(t, admin, runId)).status).toBe("queued");
    await connect(t, id, "restart-1");
    const done = await until(
      () => getRun(t, admin, runId),
      (r) => ["succeeded", "failed", "cancelled"].includes(r.status),
      10_000,
      "the run to end after the restart",
    );
    expect(done).toMatchObject({ status: "succeeded", waiting: null });
  });
});
