import { sql } from "kysely";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import { createRepositories } from "./repos/index.ts";
import { WebhookDeliveriesRepo } from "./repos/webhook-deliveries-repo.ts";
import { describeEachDialect } from "./testing/dialects.ts";

/** The storage of issue 6 (audit log, webhook deliveries, key ring, approvals) on every dialect. */
describeEachDialect("security storage contract", (get) => {
  const box = new SecretBox({ current: { version: 1, key: Buffer.alloc(32, 7) } });
  const repos = () => createRepositories(get().db, box);

  it("audit log: appended entries are listed newest first and filtered by action, actor and since", async () => {
    const r = repos();
    const marker = `actor-${Date.now()}-${Math.random()}`;
    await r.audit.append({ actor: marker, action: "auth.login", target: "admin", ip: "10.0.0.1" });
    await r.audit.append({ actor: marker, action: "job.update", target: "j1", detail: { change: { maxSteps: 3 } } });
    await r.audit.append({ actor: "someone-else", action: "job.update", target: "j2", outcome: "denied" });
    const mine = await r.audit.list({ actor: marker });
    expect(mine.map((e) => e.action)).toEqual(["job.update", "auth.login"]);
    expect(mine[0]).toMatchObject({
      target: "j1",
      outcome: "ok",
      detail: { change: { maxSteps: 3 } },
      resultHash: null,
    });
    expect(mine[1]).toMatchObject({ ip: "10.0.0.1" });
    expect((await r.audit.list({ actor: marker, action: "auth.login" })).length).toBe(1);
    expect(await r.audit.list({ actor: marker, since: "2999-01-01T00:00:00.000Z" })).toEqual([]);
    expect((await r.audit.list({ limit: 1 })).length).toBe(1);
  });

  it("audit log: the database refuses UPDATE and DELETE (append-only)", async () => {
    const r = repos();
    await r.audit.append({ actor: "tamper-test", action: "secret.create", target: "X" });
    const db = get().db;
    await expect(
      db.updateTable("audit_log").set({ actor: "nobody" }).where("actor", "=", "tamper-test").execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom("audit_log").where("actor", "=", "tamper-test").execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`DELETE FROM audit_log`.execute(db)).rejects.toThrow(/append-only/);
    expect((await r.audit.list({ actor: "tamper-test" })).length).toBe(1);
  });

  it("webhook deliveries: an id is accepted once per job; a redelivery gets the first run's id", async () => {
    const r = repos();
    const job = await r.jobs.create({ name: "hook", prompt: "p", model: { provider: "x", model: "m" } });
    const other = await r.jobs.create({ name: "hook2", prompt: "p", model: { provider: "x", model: "m" } });
    expect(await r.webhookDeliveries.claimDelivery(job.id, "d-1", "run-a")).toEqual({ first: true });
    expect(await r.webhookDeliveries.claimDelivery(job.id, "d-1", "run-b")).toEqual({ first: false, runId: "run-a" });
    expect(await r.webhookDeliveries.claimDelivery(other.id, "d-1", "run-c")).toEqual({ first: true });
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) => r.webhookDeliveries.claimDelivery(job.id, "d-2", `run-${i}`)),
    );
    expect(results.filter((c) => c.first).length).toBe(1);
  });

  it("webhook signatures: remembered per job, released on failure, forgotten by age and by count", async () => {
    const r = repos();
    const job = await r.jobs.create({ name: "sig-hook", prompt: "p", model: { provider: "x", model: "m" } });
    // A clock a second apart per row, so "the newest N" is well defined.
    let tick = Date.parse("2026-01-01T00:00:00Z");
    const clock = () => {
      tick += 1000;
      return new Date(tick);
    };
    const w = new WebhookDeliveriesRepo(get().db, { clock });
    expect(await w.claimSignature(job.id, "h1", "run-1")).toEqual({ first: true });
    expect(await w.claimSignature(job.id, "h1", "run-2")).toEqual({ first: false, runId: "run-1" });
    await w.claimDelivery(job.id, "d-9", "run-3");
    await w.pointDelivery(job.id, "d-9", "run-1");
    expect(await w.claimDelivery(job.id, "d-9", "run-4")).toEqual({ first: false, runId: "run-1" });
    await w.release(job.id, { deliveryId: "d-9", signatureHash: "h1" });
    expect(await w.claimSignature(job.id, "h1", "run-5")).toEqual({ first: true });
    expect(await w.claimDelivery(job.id, "d-9", "run-5")).toEqual({ first: true });
    for (let i = 0; i < 5; i++) await w.claimSignature(job.id, `many-${i}`, `run-m${i}`);
    // 6 signatures (h1 + 5): trimming to 3 drops the 3 oldest, h1 among them.
    expect(await w.trimSignatures(3)).toBe(3);
    expect(await w.claimSignature(job.id, "many-4", "x")).toEqual({ first: false, runId: "run-m4" });
    expect(await w.forgetBefore("2999-01-01T00:00:00.000Z")).toBeGreaterThanOrEqual(3);
    expect(await w.claimSignature(job.id, "h1", "run-6")).toEqual({ first: true });
  });

  it("master keys: versions by fingerprint, unique, retirable", async () => {
    const r = repos();
    const before = await r.masterKeys.list();
    const next = Math.max(0, ...before.map((k) => k.version)) + 1;
    expect(await r.masterKeys.add(next, `fp-${next}-${Math.random()}`)).toBe(true);
    expect(await r.masterKeys.add(next, "another")).toBe(false);
    await r.masterKeys.retire(next);
    expect((await r.masterKeys.list()).find((k) => k.version === next)?.retiredAt).toEqual(expect.any(String));
  });

  it("approvals: a job's policy round-trips; a run waits with its pending call and takes one decision", async () => {
    const r = repos();
    const job = await r.jobs.create({
      name: "gated",
      prompt: "p",
      model: { provider: "x", model: "m" },
      approval: { tools: ["exec_command"], timeoutSeconds: 60 },
    });
    expect((await r.jobs.get(job.id))?.approval).toEqual({ tools: ["exec_command"], timeoutSeconds: 60 });
    expect((await r.jobs.update(job.id, { approval: null }))?.approval).toBeNull();
    const run = await r.runs.create({ jobId: job.id, trigger: "manual" });
    expect(run.pendingApproval).toBeNull();
    const pending = {
      id: "a1",
      tool: "exec_command",
      source: "builtin",
      node: "web-1",
      nodeId: "n1",
      arguments: { command: "rm -rf /tmp/x" },
      requestedAt: "2030-01-01T00:00:00.000Z",
      deadline: "2030-01-01T00:01:00.000Z",
    };
    expect(await r.runs.beginApproval(run.id, pending)).toBe(false); // queued, not running
    await r.runs.claimNext("owner-1");
    expect(await r.runs.beginApproval(run.id, pending)).toBe(true);
    expect(await r.runs.get(run.id)).toMatchObject({ status: "waiting_approval", pendingApproval: pending });
    const decision = {
      approvalId: "a1",
      approved: false,
      reason: "not today",
      by: "op",
      at: "2030-01-01T00:00:10.000Z",
    };
    expect(await r.runs.decideApproval(run.id, { ...decision, approvalId: "other" })).toBe(false);
    expect(await r.runs.decideApproval(run.id, decision)).toBe(true);
    expect(await r.runs.decideApproval(run.id, { ...decision, approved: true })).toBe(false);
    expect(await r.runs.approvalDecision(run.id, "a1")).toEqual(decision);
    expect(await r.runs.endApproval(run.id)).toBe(true);
    expect(await r.runs.get(run.id)).toMatchObject({ status: "running", pendingApproval: null });
    await r.runs.beginApproval(run.id, { ...pending, id: "a2" });
    expect(await r.runs.approvalDecision(run.id, "a2")).toBeUndefined();
    await r.runs.finish(run.id, { status: "cancelled" });
    expect(await r.runs.get(run.id)).toMatchObject({ status: "cancelled", pendingApproval: null });
  });
});
