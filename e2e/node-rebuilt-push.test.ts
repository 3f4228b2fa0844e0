import { copyFileSync, readdirSync, readlinkSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAutoUpdateNode, suiteDirs } from "./support/auto-update-node.ts";
import { ApiClient, type CoreHandle, type Proc, startCore, waitFor } from "./support/harness.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";

const VERSION_A = "0.9.0-rebuilt-a";
const VERSION_B = "0.9.1-rebuilt-b";
const PLATFORM = `linux-${process.arch}`;

let buildA: string;
let buildB: string;
const procs: Proc[] = [];
const cores: CoreHandle[] = [];
/** Each holds 100 MB executables: removed at the end. */
const dirs = suiteDirs();
const ownDir = dirs.make;

/** A Core serving A from its own binary directory (no FABRICORE_NODE_VERSION: the build's mark says A). */
async function coreServingA(policy: "auto" | "staged") {
  const binaryDir = ownDir(`rebuilt-served-${policy}`);
  const served = join(binaryDir, `fabricore-node-${PLATFORM}`);
  copyFileSync(buildA, served);
  const core = await startCore({
    env: { FABRICORE_NODE_BINARY_DIR: binaryDir, FABRICORE_NODE_UPDATE_POLICY: policy, FABRICORE_LOG_LEVEL: "info" },
  });
  cores.push(core);
  const api = await new ApiClient(core.url).login();
  return { core, api, binaryDir, served };
}

/** Replaces the served build the way a build tool does: written beside it, renamed over it. */
function rebuildAsB(binaryDir: string, served: string) {
  const next = join(binaryDir, ".fabricore-node.next");
  copyFileSync(buildB, next);
  renameSync(next, served);
}

async function startNodeA(api: ApiClient, coreUrl: string, name: string) {
  const dir = ownDir(`rebuilt-${name}`);
  const node = await startAutoUpdateNode({ api, coreUrl, name, build: buildA, dir, deadlineSeconds: 30 });
  procs.push(node.proc);
  return { id: node.id, executable: node.executable, proc: node.proc };
}

const onlineAs = (api: ApiClient, id: string, version: string, timeoutMs = 60_000) =>
  waitFor(
    `the Node online as ${version}`,
    async () => {
      const r = await api.ok("GET", `/api/nodes/${id}`);
      return r.status === "online" && r.version === version ? r : undefined;
    },
    timeoutMs,
  );

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

const count = (text: string, needle: string) => text.split(needle).length - 1;

beforeAll(() => {
  const buildDir = ownDir("rebuilt-builds");
  buildA = buildNodeVersion(VERSION_A, join(buildDir, "fabricore-node-a"));
  buildB = buildNodeVersion(VERSION_B, join(buildDir, "fabricore-node-b"));
}, 240_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await Promise.all(cores.map((c) => c.proc.stop()));
  dirs.removeAll();
});

describe("a Node build rebuilt while the Core runs (issue 18)", () => {
  it("auto: the Core offers it to the connected --auto-update Node, which comes back as B in place", async () => {
    const { core, api, binaryDir, served } = await coreServingA("auto");
    const node = await startNodeA(api, core.url, "rebuilt-auto");
    const pid = node.proc.child.pid;
    const before = await onlineAs(api, node.id, VERSION_A);
    expect(before).toMatchObject({ servedVersion: VERSION_A, updateAvailable: false });
    // Settled on A: no update tried while the Core serves A.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(node.proc.output).not.toContain("downloading the Node update");

    rebuildAsB(binaryDir, served);
    const after = await onlineAs(api, node.id, VERSION_B, 90_000);
    expect(after).toMatchObject({ servedVersion: VERSION_B, updateAvailable: false });

    // The same process, exec'd into B, with the same enrollment.
    expect(node.proc.exited).toBe(false);
    expect(pidsRunning(node.executable)).toEqual([pid]);
    expect(sha256Of(node.executable)).toBe(sha256Of(buildB));
    // Pushed over the connection A had: A said hello once, then was offered B and downloaded it.
    const output = node.proc.output;
    const downloading = output.indexOf("downloading the Node update");
    expect(downloading).toBeGreaterThan(0);
    expect(count(output.slice(0, downloading), "connected to the Core")).toBe(1);
    expect(output.slice(0, downloading)).not.toContain("reconnecting to the Core");
    expect(core.proc.output).toContain("the Node build changed");
    expect(core.proc.output).toMatch(/"offered":1[,}].*offered the new Node build/);
    // The Core this test started, never restarted.
    expect(core.proc.exited).toBe(false);
    await node.proc.stop();
  }, 180_000);

  it("staged: the Core serves B at once but pushes nothing; the admin's rollout moves the Node", async () => {
    const { core, api, binaryDir, served } = await coreServingA("staged");
    const node = await startNodeA(api, core.url, "rebuilt-staged");
    await onlineAs(api, node.id, VERSION_A);
    rebuildAsB(binaryDir, served);
    const behind = await waitFor("the Core serving B", async () => {
      const r = await api.ok("GET", `/api/nodes/${node.id}`);
      return r.servedVersion === VERSION_B ? r : undefined;
    });
    expect(behind).toMatchObject({ status: "online", version: VERSION_A, updateAvailable: true });
    expect(core.proc.output).toContain("the staged policy waits for a rollout");
    await new Promise((r) => setTimeout(r, 4_000));
    expect(node.proc.output).not.toContain("downloading the Node update");
    expect((await api.ok("GET", `/api/nodes/${node.id}`)).version).toBe(VERSION_A);

    const rollout = await api.ok("POST", "/api/nodes/update", { nodeIds: [node.id], batchSize: 1 });
    expect(rollout.version).toBe(VERSION_B);
    await onlineAs(api, node.id, VERSION_B, 90_000);
    await node.proc.stop();
  }, 180_000);
});
