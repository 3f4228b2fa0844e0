/**
 * Issue 18, an installed Node updates itself: install.sh --auto-update in a bare root (busybox, no
 * systemd) in a loopback-only network namespace, against a real Core serving version B. The
 * installed executable is then put back to version A (as if installed when the Core served A), and
 * the Node is started by hand from the unit's ExecStart, through the /usr/local/bin symlink, in the
 * unit's sandbox as far as mounts can say it: the whole root read-only except the state directory
 * and /tmp (ProtectSystem=strict, ReadWritePaths, PrivateTmp), as an unprivileged user that owns
 * the state directory (DynamicUser, after systemd's chown). A replaces its own file with B, exec's
 * it (same pid) and comes back as B.
 *
 * A broken B (signed and served, but dying at once) is rolled back in the same layout: the watchdog
 * A left behind puts A's file back in the state directory and starts it, still sandboxed.
 *
 * The control: the plain layout (the executable in /usr/local/bin, no --auto-update at install)
 * under the same sandbox cannot update itself — which is why the new layout exists.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, type CoreHandle, Proc, startCore, tempDir, waitFor } from "./support/harness.ts";
import { type LoopbackNetns, loopbackNetns } from "./support/install-netns.ts";
import { InstallRoot } from "./support/install-root.ts";
import { netnsAvailability } from "./support/netns.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";

const netns = netnsAvailability();
const hasTool = (name: string) => spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
const missing = ["busybox", "chroot", "unshare", "mknod", "ldd", "mount"].filter((t) => !hasTool(t));
const available = netns.ok && missing.length === 0;
const required = process.env.CI === "true";
const reason = netns.ok ? `missing ${missing.join(", ")} (apt-get install busybox)` : netns.reason;
if (!available && !required) console.warn(`skipping node-install-self-update: ${reason}`);

const VERSION_A = "0.9.0-installed-a";
const VERSION_B = "0.9.1-installed-b";
const PLATFORM = `linux-${process.arch}`;
/** The unit's DynamicUser, as far as this test can say it: an unprivileged uid owning only the state directory. */
const SERVICE_UID = 61_818;
const DATA_DIR = "/var/lib/fabricore-node";

/** The processes running chrooted in `root` (the hand-started Node, whatever its pid became). */
function pidsIn(root: InstallRoot): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/root`) === root.dir) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

describe.skipIf(!available && !required)("an installed Node updates itself (issue 18)", () => {
  const NS = `fc-instup-${process.pid}`;
  let core: CoreHandle;
  let api: ApiClient;
  let space: LoopbackNetns | undefined;
  let buildA: string;
  let buildB: string;
  let served: string;
  const roots: InstallRoot[] = [];
  const procs: Proc[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`CI=true and ${reason}`);
    const builds = tempDir("installed-builds");
    buildA = buildNodeVersion(VERSION_A, join(builds, "fabricore-node-a"));
    buildB = buildNodeVersion(VERSION_B, join(builds, "fabricore-node-b"));
    served = tempDir("installed-served");
    copyFileSync(buildB, join(served, `fabricore-node-${PLATFORM}`));
    core = await startCore({ env: { FABRICORE_NODE_BINARY_DIR: served, FABRICORE_NODE_VERSION: VERSION_B } });
    api = await new ApiClient(core.url).login();
    space = await loopbackNetns(NS, [{ port: core.port, to: { host: "127.0.0.1", port: core.port } }]);
  }, 240_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    // Nodes a watchdog restarted are no children of this test: ended by the root they run in.
    for (const root of roots) for (const pid of pidsIn(root)) process.kill(pid, "SIGKILL");
    await space?.close();
    await core?.proc.stop();
    for (const root of roots) root.destroy();
  });

  /** install.sh with `flags`, then version A put in place of what it installed, and the state
   * directory given to the service's user (systemd's StateDirectory + DynamicUser at start). */
  async function installA(name: string, flags: string, executable: string) {
    const root = new InstallRoot("busybox").build(buildA);
    roots.push(root);
    const enrolled = await api.ok("POST", "/api/nodes", { name });
    const url = `http://127.0.0.1:${core.port}`;
    const res = await root.run(
      NS,
      `wget -q -O - ${url}/install.sh | sh -s -- --token ${enrolled.token} ${flags} --no-start`,
    );
    expect(res.status, res.stderr).toBe(0);
    expect(sha256Of(root.path(executable))).toBe(sha256Of(buildB));
    copyFileSync(buildA, root.path(executable));
    mkdirSync(root.path(DATA_DIR), { recursive: true, mode: 0o700 });
    const own = (path: string) => {
      chownSync(path, SERVICE_UID, SERVICE_UID);
      if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) own(join(path, entry));
    };
    own(root.path(DATA_DIR));
    return { root, id: enrolled.id as string };
  }

  function startSandboxed(root: InstallRoot, exec: string): Proc {
    // mkdtemp's 0700 would keep the unprivileged user out of its own root.
    chmodSync(root.dir, 0o755);
    const [command, args] = root.sandboxedCommand(NS, `exec ${exec}`, {
      user: `${SERVICE_UID}:${SERVICE_UID}`,
      writable: [DATA_DIR, "/tmp"],
      envFile: "/etc/fabricore/node.env",
    });
    const node = new Proc(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] }) as ChildProcess);
    procs.push(node);
    return node;
  }

  const record = (id: string) => api.ok("GET", `/api/nodes/${id}`);

  it("--auto-update layout: A, started from the unit's ExecStart through the symlink, becomes B in place", async () => {
    const self = `${DATA_DIR}/bin/fabricore-node`;
    const { root, id } = await installA("installed-updates", "--auto-update", self);
    const exec = root.execStart();
    expect(exec).toContain("/usr/local/bin/fabricore-node ");
    expect(exec).toContain(" --auto-update");
    const node = startSandboxed(root, exec);
    const online = await waitFor(
      "the installed Node online as A or B",
      async () => {
        if (node.exited) throw new Error("the Node exited");
        const r = await record(id);
        return r.status === "online" ? r : undefined;
      },
      30_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    const [pid] = pidsIn(root);
    expect(pid, `a Node runs in the root\n${node.output}`).toBeGreaterThan(0);
    console.log(`installed Node first online as ${online.version}`);
    const updated = await waitFor(
      "the installed Node online as B",
      async () => {
        const r = await record(id);
        return r.status === "online" && r.version === VERSION_B ? r : undefined;
      },
      90_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    expect(updated.updateAvailable).toBe(false);
    expect(node.exited).toBe(false);
    // The same process (exec'd, not respawned), now running B from the state directory. The watchdog
    // A left behind (also in the root) ends once B has confirmed the update.
    await waitFor("the update confirmed", () => node.output.includes("update confirmed"), 20_000);
    await waitFor("the watchdog gone", () => pidsIn(root).length === 1, 5_000);
    expect(pidsIn(root)).toEqual([pid]);
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toContain("--auto-update");
    expect(sha256Of(root.path(self))).toBe(sha256Of(buildB));
    expect(sha256Of(root.path(`${self}.previous`))).toBe(sha256Of(buildA));
    expect(statSync(root.path(self)).uid).toBe(SERVICE_UID);
    // The symlink the unit starts is untouched and still leads to the (new) file.
    expect(lstatSync(root.path("usr/local/bin/fabricore-node")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(root.path("usr/local/bin/fabricore-node"))).toBe(self);
    await node.stop();
  }, 240_000);

  it("control: the plain layout under the same sandbox cannot replace /usr/local/bin/fabricore-node", async () => {
    const { root, id } = await installA("installed-plain", "", "usr/local/bin/fabricore-node");
    const node = startSandboxed(root, `${root.execStart()} --auto-update`);
    await waitFor(
      "the failed update",
      () => {
        if (node.exited) throw new Error("the Node exited");
        return node.output.includes("cannot update: the Node's executable is in a directory it may not write");
      },
      90_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    expect(node.output).toContain('"dir":"/usr/local/bin"');
    expect(node.output).not.toContain("downloading the Node update");
    expect(sha256Of(root.path("usr/local/bin/fabricore-node"))).toBe(sha256Of(buildA));
    const r = await waitFor("A online", async () => {
      const n = await record(id);
      return n.status === "online" ? n : undefined;
    });
    expect(r).toMatchObject({ version: VERSION_A, updateAvailable: true });
    expect(node.exited).toBe(false);
    await node.stop();
  }, 240_000);

  // Last: it replaces the build the Core serves.
  it("--auto-update layout: a B that dies at start is rolled back in place; A runs again from the state directory", async () => {
    const self = `${DATA_DIR}/bin/fabricore-node`;
    const { root, id } = await installA("installed-rolls-back", "--auto-update", self);
    // Signed and served by the Core like any build, but it exits before any Node code runs.
    writeFileSync(join(served, `fabricore-node-${PLATFORM}`), "#!/bin/sh\necho 'broken build starting' >&2\nexit 3\n", {
      mode: 0o755,
    });
    const node = startSandboxed(root, root.execStart());
    await waitFor("the broken build to exit", () => node.exited, 90_000, 500).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    expect(node.output).toContain("broken build starting");
    // The watchdog A left behind put A's file back and started it (still in the sandbox, as its user).
    await waitFor(
      "A online again",
      async () => {
        const r = await record(id);
        return r.status === "online" && r.version === VERSION_A && pidsIn(root).length === 1 ? r : undefined;
      },
      60_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    expect(sha256Of(root.path(self))).toBe(sha256Of(buildA));
    const [restarted] = pidsIn(root);
    expect(readFileSync(`/proc/${restarted}/status`, "utf8")).toMatch(new RegExp(`\\nUid:\\s+${SERVICE_UID}\\s`));
    const marker = JSON.parse(readFileSync(root.path(`${DATA_DIR}/update.json`), "utf8"));
    expect(marker).toMatchObject({ state: "rolledBack", from: VERSION_A, to: VERSION_B });
    expect(lstatSync(root.path("usr/local/bin/fabricore-node")).isSymbolicLink()).toBe(true);
  }, 240_000);
});
