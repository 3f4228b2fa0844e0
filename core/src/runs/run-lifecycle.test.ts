import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { createRepositories } from "../database/repos/index.ts";
import { describeEachDialect } from "../database/testing/dialects.ts";
import type { PendingApproval } from "../database/types.ts";
import { SecretBox } from "../secrets/secret-box.ts";
import { LocalRunEventBus, type RunEvent } from "./run-events.ts";
import { RunLifecycle } from "./run-lifecycle.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });

// What subscribers are told is what the database holds: every status event comes from a write.
describeEachDialect("run lifecycle", (get) => {
  async function setup() {
    const repos = createRepositories(get().db, box);
    const events = new LocalRunEventBus();
    const lifecycle = new RunLifecycle({ runs: repos.runs, events, logger: { warn() {} } });
    const job = await repos.jobs.create({
      name: `j-${randomBytes(4).toString("hex")}`,
      prompt: "p",
      model: { provider: "lm", model: "m" },
    });
    const run = await repos.runs.create({ jobId: job.id, trigger: "manual" });
    const seen: RunEvent[] = [];
    events.subscribe(run.id, (event) => seen.push(event));
    return { repos, lifecycle, run, seen };
  }

  it("claim → waiting_approval → running → succeeded, each stored and announced once", async () => {
    const { repos, lifecycle, run, seen } = await setup();
    await repos.runs.claim(run.id, "core-a");
    expect(await lifecycle.transition(run.id, { status: "running", from: "queued" })).toBe(true);
    const pending: PendingApproval = {
      id: "a1",
      tool: "exec_command",
      source: "builtin",
      node: "web-1",
      nodeId: "n1",
      arguments: { command: "uptime" },
      requestedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 60_000).toISOString(),
    };
    expect(await lifecycle.transition(run.id, { status: "waiting_approval", pendingApproval: pending })).toBe(true);
    expect(await repos.runs.get(run.id)).toMatchObject({ status: "waiting_approval", pendingApproval: pending });
    await lifecycle.transition(run.id, { status: "running", from: "waiting_approval" });
    expect(await repos.runs.get(run.id)).toMatchObject({ status: "running", pendingApproval: null });
    expect(await lifecycle.transition(run.id, { status: "succeeded", output: "done", error: null })).toBe(true);
    // A second end is not stored (finish leaves a final run alone) and so not announced.
    expect(await lifecycle.transition(run.id, { status: "failed", error: "late" })).toBe(false);
    expect(await repos.runs.get(run.id)).toMatchObject({ status: "succeeded", output: "done" });
    expect(seen).toEqual([
      { type: "status", status: "running" },
      { type: "status", status: "waiting_approval", pendingApproval: pending },
      { type: "status", status: "running" },
      { type: "status", status: "succeeded", output: "done", error: null },
      { type: "done", status: "succeeded" },
    ]);
  });

  it("a run that left the active statuses cannot start waiting; a cancelled wait is not announced", async () => {
    const { repos, lifecycle, run, seen } = await setup();
    await repos.runs.claim(run.id, "core-a");
    const pending = {
      id: "a2",
      tool: "t",
      source: "builtin",
      node: "n",
      nodeId: "n",
      arguments: {},
      requestedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + 60_000).toISOString(),
    } satisfies PendingApproval;
    await lifecycle.transition(run.id, { status: "waiting_approval", pendingApproval: pending });
    await lifecycle.transition(run.id, { status: "running", from: "waiting_approval", announce: false });
    await lifecycle.transition(run.id, { status: "cancelled", error: "cancelled by a user" });
    expect(await lifecycle.transition(run.id, { status: "waiting_approval", pendingApproval: pending })).toBe(false);
    expect(seen.map((e) => (e.type === "status" || e.type === "done" ? `${e.type}:${e.status}` : e.type))).toEqual([
      "status:waiting_approval",
      "status:cancelled",
      "done:cancelled",
    ]);
  });

  it("failStale fails a gone replica's active runs and announces each", async () => {
    const { repos, lifecycle, run, seen } = await setup();
    await repos.runs.claim(run.id, "core-gone");
    expect(await lifecycle.failStale({ owner: "core-gone", reason: "its replica stopped" })).toEqual([run.id]);
    expect(await repos.runs.get(run.id)).toMatchObject({ status: "failed", error: "its replica stopped" });
    expect(seen).toEqual([
      { type: "status", status: "failed", output: null, error: "its replica stopped" },
      { type: "done", status: "failed" },
    ]);
  });
});
