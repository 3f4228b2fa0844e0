import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAutoUpdateNode, suiteDirs } from "./support/auto-update-node.ts";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "./support/browser.ts";
import { ADMIN_PASSWORD, ApiClient, type CoreHandle, type Proc, startCore, waitFor } from "./support/harness.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";
import { TamperSwitch, tamperingProxy } from "./support/tampering-proxy.ts";

const VERSION_A = "0.9.0-selfupdate-a";
const VERSION_B = "0.9.1-selfupdate-b";
const PLATFORM = `linux-${process.arch}`;

let core: CoreHandle;
let api: ApiClient;
let buildA: string;
let buildB: string;
let binaryDir: string;
const procs: Proc[] = [];
const servers: Server[] = [];
/** Every directory this suite made: each holds 100 MB executables, removed at the end. */
const dirs = suiteDirs();
const ownDir = dirs.make;
/** Executables of Nodes started by a watchdog (not children of this test): stopped by their file. */
const detachedExecutables: string[] = [];

/** A Node of version A from its own directory (the file it replaces is its own copy). */
async function startNodeA(name: string, coreUrl: string) {
  const dir = ownDir(`self-update-${name}`);
  const node = await startAutoUpdateNode({ api, coreUrl, name, build: buildA, dir, deadlineSeconds: 20 });
  procs.push(node.proc);
  return node;
}

const nodeRecord = async (id: string) => api.ok("GET", `/api/nodes/${id}`);

/** Pids whose executable is `path` (a Node a watchdog restarted). */
function pidsRunning(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/exe`) === path) out.push(Number(entry));
    } catch {}
  }
  return out;
}

beforeAll(async () => {
  const buildDir = ownDir("self-update-builds");
  buildA = buildNodeVersion(VERSION_A, join(buildDir, "fabricore-node-a"));
  buildB = buildNodeVersion(VERSION_B, join(buildDir, "fabricore-node-b"));
  binaryDir = ownDir("self-update-served");
  copyFileSync(buildB, join(binaryDir, `fabricore-node-${PLATFORM}`));
  core = await startCore({ env: { FABRICORE_NODE_BINARY_DIR: binaryDir, FABRICORE_NODE_VERSION: VERSION_B } });
  api = await new ApiClient(core.url).login();
}, 240_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const executable of detachedExecutables) for (const pid of pidsRunning(executable)) process.kill(pid, "SIGTERM");
  for (const server of servers) server.close();
  await core?.proc.stop();
  dirs.removeAll();
});

describe("Node self-update (issue 18)", () => {
  it("the Core advertises B, signs it, and publishes the key the Node pins", async () => {
    const key = await api.ok("GET", "/api/nodes/update-key");
    expect(key.publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const head = await fetch(`${core.url}/api/nodes/binary/${PLATFORM}`, { method: "HEAD" });
    expect(head.headers.get("x-fabricore-node-version")).toBe(VERSION_B);
    expect(head.headers.get("x-fabricore-sha256")).toBe(sha256Of(buildB));
    expect(head.headers.get("x-fabricore-update-signature")).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  it("a tampered build is refused; the Core's own build at the next hello is taken without a restart", async () => {
    const path = new TamperSwitch();
    const proxy = await tamperingProxy(core, servers, path);
    const node = await startNodeA("tampered", proxy);
    const pid = node.proc.child.pid;
    await waitFor("the refusal", () => node.proc.output.includes("refusing the Node update"), 60_000);
    expect(node.proc.output).toContain("bad_signature");
    expect(node.proc.exited).toBe(false);
    expect(sha256Of(node.executable)).toBe(sha256Of(buildA));
    expect(existsSync(`${node.executable}.previous`)).toBe(false);
    expect(existsSync(join(node.dataDir, "update.json"))).toBe(false);
    expect(readdirSync(node.dir).filter((f) => f.endsWith(".new"))).toEqual([]);
    // Online as A (the 100 MB through the buffering proxy can make a heartbeat late on a busy machine).
    const record = await waitFor("A online", async () => {
      const r = await nodeRecord(node.id);
      return r.status === "online" && r.lastUpdate?.code === "bad_signature" ? r : undefined;
    });
    expect(record).toMatchObject({ version: VERSION_A, updateAvailable: true });
    expect(node.proc.exited).toBe(false);

    // The path repaired and the connection cut: at its next hello the same process tries the
    // Core's own B (another digest) and becomes B in place.
    path.tamper = false;
    path.dropConnections();
    await waitFor(
      "the Node online as B",
      async () => {
        const r = await nodeRecord(node.id);
        return r.status === "online" && r.version === VERSION_B ? r : undefined;
      },
      90_000,
    );
    expect(node.proc.exited).toBe(false);
    expect(pidsRunning(node.executable)).toEqual([pid]);
    expect(sha256Of(node.executable)).toBe(sha256Of(buildB));
    await node.proc.stop();
  }, 240_000);

  it("A with --auto-update becomes B in place (same pid) and reconnects as B", async () => {
    const node = await startNodeA("updates", core.url);
    const pid = node.proc.child.pid;
    const record = await waitFor(
      "the Node online as B",
      async () => {
        const r = await nodeRecord(node.id);
        return r.status === "online" && r.version === VERSION_B ? r : undefined;
      },
      60_000,
    );
    expect(record.updateAvailable).toBe(false);
    // Exec'd, not respawned: the process this test started is the one running B.
    expect(node.proc.exited).toBe(false);
    expect(pidsRunning(node.executable)).toEqual([pid]);
    expect(sha256Of(node.executable)).toBe(sha256Of(buildB));
    expect(sha256Of(`${node.executable}.previous`)).toBe(sha256Of(buildA));
    await waitFor("the update confirmed", () => !existsSync(join(node.dataDir, "update.json")), 10_000);
    await waitFor("B's log of it", () => node.proc.output.includes("update confirmed"), 5_000);
    await node.proc.stop();
  }, 90_000);

  it("a B that dies at start is rolled back: A's file is back, A comes online and does not retry it", async () => {
    // Signed and served by the Core like any build (the Core signs what is in its binary directory),
    // but it exits before any Node code runs: only the watchdog outside it can notice.
    const served = join(binaryDir, `fabricore-node-${PLATFORM}`);
    writeFileSync(served, "#!/bin/sh\necho 'broken build starting' >&2\nexit 3\n", { mode: 0o755 });
    const node = await startNodeA("rolls-back", core.url);
    detachedExecutables.push(node.executable);
    await waitFor("the broken build to exit", () => node.proc.exited, 60_000);
    expect(node.proc.output).toContain("broken build starting");
    const record = await waitFor(
      "A online again",
      async () => {
        const r = await nodeRecord(node.id);
        return r.status === "online" && r.version === VERSION_A && pidsRunning(node.executable).length === 1
          ? r
          : undefined;
      },
      40_000,
    );
    expect(record).toMatchObject({ updateAvailable: true, servedVersion: VERSION_B });
    expect(sha256Of(node.executable)).toBe(sha256Of(buildA));
    const marker = JSON.parse(readFileSync(join(node.dataDir, "update.json"), "utf8"));
    expect(marker).toMatchObject({ state: "rolledBack", from: VERSION_A, to: VERSION_B });
    expect(marker.reason).toContain("exited before it reached the Core");
    // Restarted A saw the rollback record: one more hello later it still runs A, the same process.
    const [restarted] = pidsRunning(node.executable);
    await new Promise((r) => setTimeout(r, 3_000));
    expect(pidsRunning(node.executable)).toEqual([restarted]);
    expect((await nodeRecord(node.id)).version).toBe(VERSION_A);
  }, 120_000);

  it.skipIf(!chromiumAvailable("the Nodes page's version skew"))(
    "the Nodes page shows the rolled-back Node's version skew",
    async () => {
      ensureUiBuilt();
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
        await page.goto(`${core.url}/nodes`);
        await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
        await page.getByRole("button", { name: "Sign in" }).click();
        await page.getByRole("link", { name: "rolls-back" }).waitFor();
        const row = page.getByRole("row").filter({ has: page.getByRole("link", { name: "rolls-back" }) });
        await row.getByText(`update available: v${VERSION_A} → v${VERSION_B}`).waitFor();
        // The Node that updated is not listed as behind.
        const updated = page.getByRole("row").filter({ has: page.getByRole("link", { name: "updates" }) });
        expect(await updated.getByText("update available").count()).toBe(0);
        await screenshot(page, "nodes-version-skew");
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
