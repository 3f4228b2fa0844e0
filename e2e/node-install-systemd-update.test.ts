/**
 * Issue 18, an installed Node updating itself under a real systemd (support/systemd-machine.ts:
 * Debian's systemd as PID 1 of a machine of the test's own, loopback-only network). install.sh
 * --auto-update installs from a real Core; the installed file is then put back to version A, and
 * systemd starts the unit (DynamicUser, ProtectSystem=strict: the state directory is its only
 * writable place).
 *
 *  - The Core serves a "B" that dies at once (signed like any build). A swaps it in and exec's it;
 *    it exits, so systemd stops the unit's control group with SIGTERM — the watchdog A left behind
 *    included. The watchdog puts A's file back before it ends, and Restart=always starts A again:
 *    A comes online as A and reports the rollback. (The path that update-watchdog.test.ts covers
 *    in a unit test, here run by systemd itself.)
 *  - The Core then serves the real B (another digest): after `systemctl restart`, A takes it and
 *    exec's it — B runs under the same MainPID systemd started A with, and comes online as B.
 */
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, type CoreHandle, startCore, tempDir, waitFor } from "./support/harness.ts";
import { type LoopbackNetns, loopbackNetns } from "./support/install-netns.ts";
import { netnsAvailability } from "./support/netns.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";
import { SystemdMachine, systemdMachineUnavailable } from "./support/systemd-machine.ts";

const netns = netnsAvailability();
const reason = netns.ok ? systemdMachineUnavailable() : netns.reason;
const available = reason === "";
const required = process.env.CI === "true";
if (!available && !required) console.warn(`skipping node-install-systemd-update: ${reason}`);

const VERSION_A = "0.9.0-systemd-a";
const VERSION_B = "0.9.1-systemd-b";
const PLATFORM = `linux-${process.arch}`;
const UNIT = "fabricore-node.service";
/** Where the unit's DynamicUser state directory really is (StateDirectory= moves it there). */
const STATE = "/var/lib/private/fabricore-node";

describe.skipIf(!available && !required)("an installed Node updates itself under a real systemd (issue 18)", () => {
  let core: CoreHandle;
  let api: ApiClient;
  let ns: LoopbackNetns | undefined;
  let machine: SystemdMachine | undefined;
  let buildA: string;
  let buildB: string;
  let served: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    if (!available) throw new Error(`CI=true and ${reason}`);
    const builds = tempDir("systemd-builds");
    dirs.push(builds);
    buildA = buildNodeVersion(VERSION_A, join(builds, "fabricore-node-a"));
    buildB = buildNodeVersion(VERSION_B, join(builds, "fabricore-node-b"));
    served = tempDir("systemd-served");
    dirs.push(served);
    copyFileSync(buildB, join(served, `fabricore-node-${PLATFORM}`));
    core = await startCore({ env: { FABRICORE_NODE_BINARY_DIR: served, FABRICORE_NODE_VERSION: VERSION_B } });
    api = await new ApiClient(core.url).login();
    ns = await loopbackNetns(`fc-sdu-${process.pid}`, [
      { port: core.port, to: { host: "127.0.0.1", port: core.port } },
    ]);
    machine = await SystemdMachine.boot(ns.name);
  }, 300_000);

  afterAll(async () => {
    await machine?.destroy();
    await ns?.close();
    await core?.proc.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const record = (id: string) => api.ok("GET", `/api/nodes/${id}`);
  const journal = async () => (await (machine as SystemdMachine).run(`journalctl -u ${UNIT} --no-pager -o cat`)).stdout;
  const sha256In = async (path: string) =>
    (await (machine as SystemdMachine).run(`sha256sum ${path}`)).stdout.split(" ")[0];

  it("a B that dies at start is rolled back under systemd; the real B later runs under the same MainPID", async () => {
    const m = machine as SystemdMachine;
    const enrolled = await api.ok("POST", "/api/nodes", { name: "systemd-self-update" });
    const url = `http://127.0.0.1:${core.port}`;
    const install = await m.run(
      `curl -fsSL ${url}/install.sh | sh -s -- --token ${enrolled.token} --auto-update --no-start`,
    );
    expect(install.status, install.stderr).toBe(0);
    expect((await m.run("readlink /usr/local/bin/fabricore-node")).stdout.trim()).toBe(
      "/var/lib/fabricore-node/bin/fabricore-node",
    );
    // As if installed when the Core served A.
    const putA = await m.run(
      "cat > /var/lib/fabricore-node/bin/fabricore-node.tmp && chmod 0755 /var/lib/fabricore-node/bin/fabricore-node.tmp && mv /var/lib/fabricore-node/bin/fabricore-node.tmp /var/lib/fabricore-node/bin/fabricore-node",
      120_000,
      buildA,
    );
    expect(putA.status, putA.stderr).toBe(0);

    // Signed and served by the Core like any build, but it exits before any Node code runs.
    writeFileSync(join(served, `fabricore-node-${PLATFORM}`), "#!/bin/sh\necho 'broken build starting' >&2\nexit 3\n", {
      mode: 0o755,
    });
    const start = await m.run(`systemctl start ${UNIT}`);
    expect(start.status, start.stderr).toBe(0);

    // Back as A, having told the Core of the rollback (the marker says when; the Core's lastUpdate
    // may already be the next hello's not_retried for the same broken build).
    const marker = await waitFor(
      "A back online after the rollback, the rollback reported",
      async () => {
        const r = await record(enrolled.id);
        if (r.status !== "online" || r.version !== VERSION_A) return undefined;
        const text = await m.readFile(`${STATE}/update.json`);
        const json = text === undefined ? undefined : JSON.parse(text);
        return json?.reportedAt ? json : undefined;
      },
      120_000,
      500,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\njournal:\n${await journal()}`);
    });
    expect(marker).toMatchObject({ state: "rolledBack", from: VERSION_A, to: VERSION_B });
    expect((await record(enrolled.id)).lastUpdate).toMatchObject({ from: VERSION_A, to: VERSION_B });
    const log = await journal();
    expect(log).toContain("broken build starting");
    expect(log).toContain("update verified and installed; restarting into it");
    // The watchdog, SIGTERMed with the unit's control group, restored A before it ended.
    expect(log).toContain(
      `fabricore-node update watchdog: version ${VERSION_B} exited before it reached the Core; restored ${VERSION_A}`,
    );
    // The restart was systemd's (Restart=always), after the watchdog had restored A.
    expect((await m.show(UNIT, ["NRestarts"])).NRestarts).not.toBe("0");
    expect(await sha256In(`${STATE}/bin/fabricore-node`)).toBe(sha256Of(buildA));

    // The real B (another digest) now: taken at the next hello, exec'd under the same MainPID.
    copyFileSync(buildB, join(served, `fabricore-node-${PLATFORM}`));
    expect((await m.run(`systemctl restart ${UNIT}`)).status).toBe(0);
    const { MainPID: startedAs } = await m.show(UNIT, ["MainPID"]);
    await waitFor(
      "the Node online as B",
      async () => {
        const r = await record(enrolled.id);
        return r.status === "online" && r.version === VERSION_B ? r : undefined;
      },
      120_000,
      500,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}\njournal:\n${await journal()}`);
    });
    const after = await m.show(UNIT, ["MainPID", "ActiveState"]);
    expect(after).toEqual({ MainPID: startedAs, ActiveState: "active" });
    expect(await sha256In(`${STATE}/bin/fabricore-node`)).toBe(sha256Of(buildB));
    expect(await sha256In(`${STATE}/bin/fabricore-node.previous`)).toBe(sha256Of(buildA));
    await waitFor("B's confirmation", async () => (await journal()).includes("update confirmed"), 30_000, 500);
  }, 400_000);
});
