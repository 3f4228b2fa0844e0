import type { HelloResult } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";
import { waitFor } from "../../testing/test-node.ts";

/** Issue 18, staged rollout through the API: POST /api/nodes/update offers the served version to
 * one batch (pushed to the connected Node over the real protocol), the Node's report pauses it,
 * GET /api/nodes carries the last outcome, cancel ends it; audit entries; admins only. */

let t: TestCore;
let admin: string;
const offers = new Map<string, string[]>();
const hellos = new Map<string, HelloResult[]>();
let a: Awaited<ReturnType<TestCore["connectNode"]>>;
let b: Awaited<ReturnType<TestCore["connectNode"]>>;

const watched = (name: string) => ({
  onUpdateOffer: (version: string) => offers.set(name, [...(offers.get(name) ?? []), version]),
  onConnected: (result: HelloResult) => hellos.set(name, [...(hellos.get(name) ?? []), result]),
});

beforeAll(async () => {
  t = await startTestCore({ env: { FABRICORE_NODE_UPDATE_POLICY: "staged", FABRICORE_NODE_VERSION: "9.9.9" } });
  admin = await t.login();
  a = await t.connectNode("roll-a", { ring: "canary" }, watched("roll-a"));
  b = await t.connectNode("roll-b", { ring: "canary" }, watched("roll-b"));
});

afterAll(async () => {
  await t?.close();
});

describe("POST /api/nodes/update", () => {
  it("validates the target and is for admins only", async () => {
    const viewer = await t.userToken("viewer");
    expect((await t.api(viewer, "POST", "/api/nodes/update", { nodeIds: [a.id] })).status).toBe(403);
    const both = await t.api(admin, "POST", "/api/nodes/update", { nodeIds: [a.id], selector: "ring=canary" });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe("validation_failed");
    expect((await t.api(admin, "POST", "/api/nodes/update", { selector: "ring=none" })).status).toBe(400);
    expect((await t.api(admin, "POST", "/api/nodes/update", { nodeIds: ["missing"] })).status).toBe(404);
    // staged policy, no rollout: the hello carries no version to update to.
    expect(hellos.get("roll-a")?.[0]?.nodeVersion).toBeUndefined();
  });

  it("offers one batch, pauses on a refusal, shows the Node's last outcome, and cancels", async () => {
    const started = await t.api(admin, "POST", "/api/nodes/update", { selector: "ring=canary", batchSize: 1 });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body).toMatchObject({ version: "9.9.9", state: "running", currentBatch: 1, batchCount: 2 });
    expect(started.body.nodes.map((n: { name: string; state: string }) => [n.name, n.state])).toEqual([
      ["roll-a", "updating"],
      ["roll-b", "pending"],
    ]);
    // Pushed to the connected Node of batch 1 only (fabricore/node/update).
    await waitFor(() => (offers.get("roll-a") ?? []).length === 1, 5_000, "offer to roll-a");
    expect(offers.get("roll-a")).toEqual(["9.9.9"]);
    expect(offers.get("roll-b")).toBeUndefined();
    const second = await t.api(admin, "POST", "/api/nodes/update", { nodeIds: [b.id] });
    expect(second.status).toBe(409);

    expect(
      a.node.manager.reportUpdate({
        outcome: "refused",
        from: "0.0.0-test",
        to: "9.9.9",
        code: "bad_signature",
        reason: "the build's signature does not verify with the pinned release key",
        at: new Date().toISOString(),
      }),
    ).toBe(true);
    const id = started.body.id as string;
    let rollout = (await t.api(admin, "GET", `/api/nodes/rollouts/${id}`)).body;
    const end = Date.now() + 5_000;
    while (rollout.state === "running" && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
      rollout = (await t.api(admin, "GET", `/api/nodes/rollouts/${id}`)).body;
    }
    expect(rollout.state).toBe("paused");
    expect(rollout.reason).toContain("roll-a: refused (bad_signature)");
    expect(rollout.nodes[0]).toMatchObject({ name: "roll-a", state: "refused", code: "bad_signature" });
    expect(rollout.nodes[1]).toMatchObject({ name: "roll-b", state: "pending" });

    const nodes = (await t.api(admin, "GET", "/api/nodes")).body as Array<{ name: string; lastUpdate: unknown }>;
    expect(nodes.find((n) => n.name === "roll-a")?.lastUpdate).toMatchObject({
      outcome: "refused",
      code: "bad_signature",
      from: "0.0.0-test",
      to: "9.9.9",
    });
    expect(nodes.find((n) => n.name === "roll-b")?.lastUpdate).toBeNull();
    expect((await t.api(admin, "GET", `/api/nodes/${a.id}`)).body.lastUpdate.outcome).toBe("refused");

    const list = (await t.api(admin, "GET", "/api/nodes/rollouts")).body;
    expect(list.policy).toBe("staged");
    expect(list.rollouts[0]).toMatchObject({ id, state: "paused", counts: { refused: 1, pending: 1 } });

    const viewer = await t.userToken("viewer");
    expect((await t.api(viewer, "POST", `/api/nodes/rollouts/${id}/cancel`)).status).toBe(403);
    const cancelled = await t.api(admin, "POST", `/api/nodes/rollouts/${id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe("cancelled");
    expect(cancelled.body.nodes[1]).toMatchObject({ state: "cancelled" });
    expect((await t.api(admin, "POST", `/api/nodes/rollouts/${id}/cancel`)).status).toBe(409);
    expect((await t.api(admin, "GET", "/api/nodes/rollouts/nope")).status).toBe(404);

    const audit = (await t.api(admin, "GET", `/api/audit?target=${id}`)).body;
    const actions = audit.map((e: { action: string }) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(["node.rollout.start", "node.rollout.pause", "node.rollout.cancel"]),
    );
  });
});
