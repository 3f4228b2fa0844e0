import { copyFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAutoUpdateNode, suiteDirs } from "./support/auto-update-node.ts";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "./support/browser.ts";
import { ApiClient, type CoreHandle, type Proc, startCore, waitFor } from "./support/harness.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";
import { tamperingProxy } from "./support/tampering-proxy.ts";
import { openSignedInPages } from "./support/ui-pages.ts";

const VERSION_A = "0.9.0-rollout-a";
const VERSION_B = "0.9.1-rollout-b";
const PLATFORM = `linux-${process.arch}`;

let core: CoreHandle;
let api: ApiClient;
let buildA: string;
let buildB: string;
const procs: Proc[] = [];
const servers: Server[] = [];
const dirs = suiteDirs();
const ownDir = dirs.make;

async function startNodeA(name: string, coreUrl: string, labels: Record<string, string>) {
  const dir = ownDir(`rollout-${name}`);
  const node = await startAutoUpdateNode({ api, coreUrl, name, build: buildA, dir, labels, deadlineSeconds: 30 });
  procs.push(node.proc);
  return { id: node.id, name, executable: node.executable, proc: node.proc };
}

const onlineAs = (id: string, version: string) =>
  waitFor(
    `${id} online as ${version}`,
    async () => {
      const r = await api.ok("GET", `/api/nodes/${id}`);
      return r.status === "online" && r.version === version ? r : undefined;
    },
    60_000,
  );

async function rolloutUntil(id: string, states: string[], timeoutMs: number) {
  return waitFor(
    `rollout ${id} ${states.join("/")}`,
    async () => {
      const r = await api.ok("GET", `/api/nodes/rollouts/${id}`);
      return states.includes(r.state) ? r : undefined;
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  const buildDir = ownDir("rollout-builds");
  buildA = buildNodeVersion(VERSION_A, join(buildDir, "fabricore-node-a"));
  buildB = buildNodeVersion(VERSION_B, join(buildDir, "fabricore-node-b"));
  const binaryDir = ownDir("rollout-served");
  copyFileSync(buildB, join(binaryDir, `fabricore-node-${PLATFORM}`));
  core = await startCore({
    env: {
      FABRICORE_NODE_BINARY_DIR: binaryDir,
      FABRICORE_NODE_VERSION: VERSION_B,
      FABRICORE_NODE_UPDATE_POLICY: "staged",
    },
  });
  api = await new ApiClient(core.url).login();
}, 240_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const server of servers) server.close();
  await core?.proc.stop();
  dirs.removeAll();
});

describe("staged Node rollout (issue 18)", () => {
  it("3 Nodes with batchSize 1 update one after another, each back on B before the next starts", async () => {
    const nodes = [];
    for (const name of ["web-1", "web-2", "web-3"]) nodes.push(await startNodeA(name, core.url, { ring: "web" }));
    for (const node of nodes) await onlineAs(node.id, VERSION_A);
    // Staged: connected and behind, but nobody updates before a rollout says so.
    await new Promise((r) => setTimeout(r, 3_000));
    for (const node of nodes) {
      expect(await api.ok("GET", `/api/nodes/${node.id}`)).toMatchObject({ version: VERSION_A, updateAvailable: true });
      expect(node.proc.output).not.toContain("downloading the Node update");
    }

    const started = await api.ok("POST", "/api/nodes/update", {
      selector: "ring=web",
      batchSize: 1,
      deadlineSeconds: 120,
    });
    expect(started).toMatchObject({ version: VERSION_B, batchCount: 3, currentBatch: 1 });
    const done = await rolloutUntil(started.id, ["completed", "paused"], 200_000);
    expect(done.state, JSON.stringify(done)).toBe("completed");
    expect(
      done.nodes.map((n: { name: string; batch: number; state: string; fromVersion: string }) => [
        n.name,
        n.batch,
        n.state,
        n.fromVersion,
      ]),
    ).toEqual([
      ["web-1", 1, "updated", VERSION_A],
      ["web-2", 2, "updated", VERSION_A],
      ["web-3", 3, "updated", VERSION_A],
    ]);
    // No overlap: each Node's update started after the previous one had come back on B.
    const times = done.nodes.map((n: { startedAt: string; finishedAt: string }) => [
      Date.parse(n.startedAt),
      Date.parse(n.finishedAt),
    ]);
    for (let i = 1; i < times.length; i++) expect(times[i][0]).toBeGreaterThanOrEqual(times[i - 1][1]);
    for (const node of nodes) {
      const record = await onlineAs(node.id, VERSION_B);
      expect(record.updateAvailable).toBe(false);
      expect(record.lastUpdate).toMatchObject({ outcome: "updated", from: VERSION_A, to: VERSION_B });
      expect(sha256Of(node.executable)).toBe(sha256Of(buildB));
      expect(node.proc.exited).toBe(false);
    }
    console.log(
      `rollout of 3 Nodes, batchSize 1: ${((Date.parse(done.finishedAt) - Date.parse(done.createdAt)) / 1000).toFixed(1)} s; per Node ${times.map(([s, f]: [number, number]) => ((f - s) / 1000).toFixed(1)).join(", ")} s`,
    );
    for (const node of nodes) await node.proc.stop();
  }, 300_000);

  it("a bad-signature build is refused, reported to the Core, and pauses the rollout", async () => {
    const proxy = await tamperingProxy(core, servers);
    const nodes = [];
    for (const name of ["canary-1", "canary-2"]) nodes.push(await startNodeA(name, proxy, { ring: "canary" }));
    for (const node of nodes) await onlineAs(node.id, VERSION_A);
    const started = await api.ok("POST", "/api/nodes/update", { selector: "ring=canary", batchSize: 1 });
    const paused = await rolloutUntil(started.id, ["paused", "completed"], 120_000);
    expect(paused.state).toBe("paused");
    expect(paused.reason).toContain("canary-1: refused (bad_signature)");
    expect(paused.nodes[0]).toMatchObject({ name: "canary-1", state: "refused", code: "bad_signature" });
    expect(paused.nodes[1]).toMatchObject({ name: "canary-2", state: "pending" });
    const [first, second] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    expect(first.proc.output).toContain("refusing the Node update");
    expect(second.proc.output).not.toContain("downloading the Node update");
    expect(sha256Of(first.executable)).toBe(sha256Of(buildA));
    const record = await api.ok("GET", `/api/nodes/${first.id}`);
    expect(record.lastUpdate).toMatchObject({ outcome: "refused", code: "bad_signature", to: VERSION_B });
    expect(record.lastUpdate.reason).toMatch(/not signed by the pinned update key/);
    // Left paused for the panel below; the audit log has its start and pause.
    const audit = await api.ok("GET", `/api/audit?target=${started.id}`);
    expect(audit.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(["node.rollout.start", "node.rollout.pause"]),
    );
  }, 180_000);

  it.skipIf(!chromiumAvailable("the Nodes page's rollout panel"))(
    "the Nodes page's rollout panel shows the batches and the refusal",
    async () => {
      ensureUiBuilt();
      const browser = await launchChromium();
      const errors: string[] = [];
      try {
        const { page, phonePage } = await openSignedInPages(browser, core.url, { errors });
        await page.goto(`${core.url}/nodes`);
        const panel = page.getByRole("region", { name: "Rollout" });
        await panel.waitFor();
        await panel.getByText("paused").first().waitFor();
        await panel
          .getByText(/canary-1: refused \(bad_signature\)/)
          .first()
          .waitFor();
        const row = panel.getByRole("row").filter({ hasText: "canary-2" });
        await row.getByText("pending").waitFor();
        // The table on a wide screen, not the phone's cards.
        expect(await panel.getByRole("list", { name: "Rollout Nodes" }).count()).toBe(0);
        await screenshot(page, "nodes-rollout");
        // The same paused rollout on a 390 px phone: the panel, its reason and each Node's state,
        // with nothing wider than the screen.
        await phonePage.goto(`${core.url}/nodes`);
        const phonePanel = phonePage.getByRole("region", { name: "Rollout" });
        await phonePanel
          .getByText(/canary-1: refused \(bad_signature\)/)
          .first()
          .waitFor();
        // Each Node a card (name, versions, state, error), no table: nothing scrolls sideways.
        const cards = phonePanel.getByRole("list", { name: "Rollout Nodes" });
        const refusedCard = cards.getByRole("listitem", { name: "canary-1" });
        await refusedCard.getByText("refused").waitFor();
        await refusedCard.getByText(/^bad_signature: .*not signed by the pinned update key/).waitFor();
        await refusedCard.getByText(`v${VERSION_A} → v${VERSION_B}`, { exact: false }).waitFor();
        await cards.getByRole("listitem", { name: "canary-2" }).getByText("pending").waitFor();
        expect(await phonePanel.getByRole("table").count()).toBe(0);
        await phonePanel.getByRole("button", { name: "Cancel rollout" }).waitFor();
        expect(await phonePage.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
        await screenshot(phonePage, "nodes-rollout-phone");
        // Cancel from the panel.
        await panel.getByRole("button", { name: "Cancel rollout" }).click();
        await panel.getByText("cancelled").first().waitFor();
        // A new rollout from the dialog: the Nodes behind are chosen already. canary-1 refused this
        // build before, so it answers at once (not_retried) and the new rollout pauses too.
        await page.getByRole("button", { name: "Update Nodes" }).click();
        const dialog = page.getByRole("dialog", { name: "Update Nodes" });
        await dialog.getByText("2 Nodes, 2 batches").waitFor();
        await dialog.getByRole("button", { name: "Start rollout" }).click();
        await dialog.waitFor({ state: "hidden" });
        await panel
          .getByText(/canary-1: refused \(not_retried\)/)
          .first()
          .waitFor({ timeout: 30_000 });
        const rollouts = await api.ok("GET", "/api/nodes/rollouts");
        expect(rollouts.rollouts.map((r: { state: string }) => r.state).slice(0, 2)).toEqual(["paused", "cancelled"]);
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
