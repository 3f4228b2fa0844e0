import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { createRepositories, type Repositories } from "../database/index.ts";
import { describeEachDialect } from "../database/testing/dialects.ts";
import { SecretBox } from "../secrets/secret-box.ts";
import { hashToken } from "../secrets/tokens.ts";
import { NodeRollouts, type NodeUpdatePolicy } from "./node-rollout.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });
const quiet = { info() {}, warn() {}, error() {} };

/** The hub as the rollout sees it: which Nodes are connected on which version, and what was pushed. */
class Fleet {
  readonly live = new Map<string, { version: string; connectedAt: number }>();
  readonly offers: Array<{ nodeId: string; version: string }> = [];
  connect(nodeId: string, version: string) {
    this.live.set(nodeId, { version, connectedAt: Date.now() + Math.random() });
  }
  hub = {
    live: (nodeId: string) => this.live.get(nodeId),
    offer: (nodeId: string, version: string) => {
      if (!this.live.has(nodeId)) return false;
      this.offers.push({ nodeId, version });
      return true;
    },
  };
}

async function setup(
  repos: Repositories,
  names: string[],
  options: { policy?: NodeUpdatePolicy; now?: () => number } = {},
) {
  const fleet = new Fleet();
  const ids: string[] = [];
  for (const name of names) {
    const node = await repos.nodes.create({ name, labels: { role: "web" }, tokenHash: hashToken(`fcn_${name}`) });
    ids.push(node.id);
    fleet.connect(node.id, "1.0.0");
  }
  const audits: string[] = [];
  const rollouts = new NodeRollouts({
    rollouts: repos.nodeRollouts,
    results: repos.nodeUpdateResults,
    nodes: repos.nodes,
    hub: fleet.hub,
    servedVersion: "2.0.0",
    policy: options.policy ?? "staged",
    audit: (action) => audits.push(action),
    logger: quiet,
    ...(options.now && { now: options.now }),
  });
  await rollouts.tick();
  return { fleet, ids, rollouts, audits };
}

const states = (r: { nodes: Array<{ name: string; state: string }> }) =>
  Object.fromEntries(r.nodes.map((n) => [n.name, n.state]));

// The staged rollout's state machine on every dialect, with the real repositories: batches one
// after another, a failed batch pausing it, offline Nodes skipped, deadlines, cancel and resume.
describeEachDialect("node rollouts", (get) => {
  it("updates one batch at a time, offers only the running batch, and completes", async () => {
    const repos = createRepositories(get().db, box);
    const { fleet, ids, rollouts } = await setup(repos, ["a", "b", "c"]);
    const [a, b, c] = ids as [string, string, string];
    expect(rollouts.offersVersion(a)).toBe(false); // staged, nothing active
    let r = await rollouts.begin({ selector: "role=web", batchSize: 2 }, "admin");
    expect(r.batchCount).toBe(2);
    expect(states(r)).toEqual({ a: "updating", b: "updating", c: "pending" });
    expect(fleet.offers.map((o) => o.nodeId)).toEqual([a, b]);
    expect([rollouts.offersVersion(a), rollouts.offersVersion(b), rollouts.offersVersion(c)]).toEqual([
      true,
      true,
      false,
    ]);

    fleet.connect(a, "2.0.0");
    await rollouts.nodeOnline(a);
    r = await rollouts.get(r.id);
    expect(states(r)).toEqual({ a: "updated", b: "updating", c: "pending" });
    expect(r.currentBatch).toBe(1);

    await rollouts.nodeReported(b, { outcome: "updated", from: "1.0.0", to: "2.0.0", at: new Date().toISOString() });
    r = await rollouts.get(r.id);
    expect(states(r)).toEqual({ a: "updated", b: "updated", c: "updating" });
    expect(r.currentBatch).toBe(2);
    expect(rollouts.offersVersion(c)).toBe(true);
    expect(rollouts.offersVersion(a)).toBe(false);

    fleet.connect(c, "2.0.0");
    await rollouts.tick();
    r = await rollouts.get(r.id);
    expect(r.state).toBe("completed");
    expect(r.finishedAt).not.toBeNull();
    expect(r.nodes.find((n) => n.name === "c")?.fromVersion).toBe("1.0.0");
    // Done: the policy again (staged: no offers).
    expect(rollouts.offersVersion(c)).toBe(false);
    const [listed] = await rollouts.list();
    expect(listed?.counts).toEqual({ updated: 3 });
  });

  it("pauses on a refused Node with the reason, keeps the Node's last outcome, and resumes", async () => {
    const repos = createRepositories(get().db, box);
    const { ids, rollouts, audits } = await setup(repos, ["a", "b", "c"], { policy: "auto" });
    const [a, b, c] = ids as [string, string, string];
    expect(rollouts.offersVersion(c)).toBe(true); // auto, nothing active
    let r = await rollouts.begin({ nodeIds: ["a", "b", "c"], batchSize: 1 }, "admin");
    expect(rollouts.offersVersion(c)).toBe(false); // a rollout is active: only its batch
    await rollouts.nodeReported(a, {
      outcome: "refused",
      from: "1.0.0",
      to: "2.0.0",
      code: "bad_signature",
      reason: "the signature does not verify",
      at: new Date().toISOString(),
    });
    r = await rollouts.get(r.id);
    expect(r.state).toBe("paused");
    expect(r.reason).toContain("a: refused (bad_signature)");
    expect(r.nodes[0]).toMatchObject({
      state: "refused",
      code: "bad_signature",
      reason: "the signature does not verify",
    });
    expect(states(r)).toEqual({ a: "refused", b: "pending", c: "pending" });
    expect(audits).toEqual(["node.rollout.pause"]);
    expect(rollouts.offersVersion(b)).toBe(false); // paused offers nothing
    const last = (await repos.nodeUpdateResults.byNode([a])).get(a);
    expect(last).toMatchObject({ outcome: "refused", code: "bad_signature", from: "1.0.0", to: "2.0.0" });

    r = await rollouts.resume(r.id);
    expect(r.state).toBe("running");
    expect(states(r)).toEqual({ a: "refused", b: "updating", c: "pending" });
    await rollouts.nodeReported(b, {
      outcome: "rolled_back",
      from: "1.0.0",
      to: "2.0.0",
      reason: "version 2.0.0 exited before it reached the Core",
      at: new Date().toISOString(),
    });
    r = await rollouts.get(r.id);
    expect(r.state).toBe("paused");
    expect(states(r)).toEqual({ a: "refused", b: "rolled_back", c: "pending" });
    r = await rollouts.cancel(r.id);
    expect(r.state).toBe("cancelled");
    expect(states(r)).toEqual({ a: "refused", b: "rolled_back", c: "cancelled" });
    expect(rollouts.offersVersion(c)).toBe(true); // back to the policy
    await expect(rollouts.cancel(r.id)).rejects.toMatchObject({ code: "conflict" });
  });

  it("skips offline Nodes, times out late ones, allows maxFailures, and allows one active rollout", async () => {
    const repos = createRepositories(get().db, box);
    let now = Date.now();
    const { fleet, ids, rollouts } = await setup(repos, ["a", "b", "c"], { now: () => now });
    const [, b] = ids as [string, string, string];
    fleet.live.delete(b);
    let r = await rollouts.begin({ nodeIds: ids, batchSize: 3, maxFailures: 1, deadlineSeconds: 60 }, "admin");
    expect(states(r)).toEqual({ a: "updating", b: "offline_skipped", c: "updating" });
    await expect(rollouts.begin({ nodeIds: ids, batchSize: 1 }, "admin")).rejects.toMatchObject({ code: "conflict" });
    fleet.connect(ids[0] as string, "2.0.0");
    now += 61_000;
    await rollouts.tick();
    r = await rollouts.get(r.id);
    // c timed out: one failure, allowed, so the (last) batch completes.
    expect(states(r)).toEqual({ a: "updated", b: "offline_skipped", c: "timeout" });
    expect(r.nodes[2]?.reason).toContain("within 60 s");
    expect(r.state).toBe("completed");
  });

  it("refuses an empty target and unknown Nodes", async () => {
    const repos = createRepositories(get().db, box);
    const { rollouts } = await setup(repos, ["a"]);
    await expect(rollouts.begin({ selector: "role=db", batchSize: 1 }, "admin")).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(rollouts.begin({ nodeIds: ["nope"], batchSize: 1 }, "admin")).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(rollouts.begin({ selector: "role in (", batchSize: 1 }, "admin")).rejects.toMatchObject({
      code: "validation_failed",
    });
  });
});
