import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ManagedMcpSpec } from "@fabricore/protocol";
import type Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EVERYTHING_IMAGE, ensureTestImages, FILESYSTEM_IMAGE } from "../../../e2e/images/test-images.ts";
import { silentLogger } from "../logger.ts";
import { buildContainerSpec, LABELS } from "../runtime/container-spec.ts";
import { assertDocker } from "../runtime/testing/docker-suite.ts";
import { createMcpManager } from "./index.ts";
import type { McpManager } from "./mcp-manager.ts";
import { mcpDockerSuite, waitFor } from "./testing/mcp-docker-suite.ts";

const { probe, run, raw } = await mcpDockerSuite("McpManager with Docker");

const nodeId = `test-${randomUUID().slice(0, 8)}`;
const never = new AbortController().signal;

describe.skipIf(!run)("McpManager with real Docker and the MCP filesystem server", () => {
  let dir = "";
  const managers: McpManager[] = [];
  const manager = (id = nodeId) => {
    const m = createMcpManager({
      docker: probe.docker,
      nodeId: id,
      logger: silentLogger,
      restart: { initialDelayMs: 100, maxDelayMs: 1000 },
    });
    managers.push(m);
    return m;
  };
  const fsSpec = (overrides: Partial<ManagedMcpSpec> = {}): ManagedMcpSpec => ({
    kind: "managed",
    name: "fs",
    image: FILESYSTEM_IMAGE,
    // What the filesystem preset produces: each mount's target becomes an allowed directory.
    args: ["/data"],
    env: {},
    mounts: [{ source: dir, target: "/data", readOnly: true }],
    network: "none",
    limits: {},
    ...overrides,
  });
  const ours = async () =>
    raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.node}=${nodeId}`] }) });

  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
    dir = mkdtempSync(join(tmpdir(), "fabricore-mcp-"));
    // The server runs as nobody (65534): the directory must be readable by "other".
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "marker.txt"), "fabricore marker 7f3a\n", { mode: 0o644 });
  }, 120_000);

  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close({ removeContainers: true })));
  });

  afterAll(async () => {
    if (!probe.available) return;
    for (const c of await ours()) await raw.getContainer(c.Id).remove({ force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the server hardened with only the asked mount, read-only, and reads a marker file through MCP", async () => {
    const m = manager();
    const started = performance.now();
    const [status] = await m.sync([fsSpec()]);
    const syncMs = performance.now() - started;
    expect(status).toMatchObject({ name: "fs", state: "running", restarts: 0 });
    const tools = m.list();
    expect(tools.find((t) => t.name === "read_text_file")).toMatchObject({ source: "mcp:fs" });
    expect(tools.every((t) => t.source === "mcp:fs" && t.inputSchema.type === "object")).toBe(true);

    const callStarted = performance.now();
    const result = await m.callTool(
      "fs",
      "read_text_file",
      { path: "/data/marker.txt" },
      { signal: never, deadlineMs: 10_000 },
    );
    const callMs = performance.now() - callStarted;
    expect(result.isError).toBe(false);
    expect(result.content).toEqual([{ type: "text", text: "fabricore marker 7f3a\n" }]);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);

    // Read-only for real: the server itself is refused by the kernel, and says so as a tool error.
    const write = await m.callTool(
      "fs",
      "write_file",
      { path: "/data/new.txt", content: "x" },
      { signal: never, deadlineMs: 10_000 },
    );
    expect(write.isError).toBe(true);
    expect(JSON.stringify(write.content)).toMatch(/read-only file system|EROFS/i);

    const info = await raw.getContainer(status!.containerId!).inspect();
    expect(info.Mounts).toHaveLength(1);
    expect(info.Mounts[0]).toMatchObject({ Type: "bind", Source: realpathSync(dir), Destination: "/data", RW: false });
    const host = info.HostConfig;
    expect(host.CapDrop).toEqual(["ALL"]);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt).toContain("no-new-privileges");
    expect(host.NetworkMode).toBe("none");
    expect(host.Privileged).toBe(false);
    expect(host.ReadonlyRootfs).toBe(true);
    expect(host.Tmpfs).toEqual({ "/tmp": "rw,noexec,nosuid,nodev,size=64m" });
    expect(host.Memory).toBe(512 * 1024 * 1024);
    expect(host.MemorySwap).toBe(512 * 1024 * 1024);
    expect(host.PidsLimit).toBe(128);
    expect(host.NanoCpus).toBe(1_000_000_000);
    expect(host.Binds ?? []).toEqual([]);
    expect(info.Config.User).toBe("65534:65534");
    expect(info.Config.Labels).toMatchObject({
      [LABELS.managed]: "true",
      [LABELS.node]: nodeId,
      [LABELS.server]: "fs",
    });
    expect(info.Config.Labels[LABELS.specHash]).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(info.Mounts)).not.toContain("docker.sock");
    console.info(
      `[measure] filesystem server: sync to running ${syncMs.toFixed(0)} ms, read_text_file ${callMs.toFixed(1)} ms`,
    );
  });

  it("withdraws a killed container's tools at once, restarts it, and calls work again", async () => {
    const m = manager();
    const [first] = await m.sync([fsSpec()]);
    const states: string[] = [];
    let withdrawnAt = 0;
    m.onChange(() => {
      const s = m.statuses()[0];
      if (s) states.push(`${s.state}:${s.toolCount}`);
      if (!withdrawnAt && m.list().length === 0) withdrawnAt = performance.now();
    });
    const killedAt = performance.now();
    await raw.getContainer(first!.containerId!).kill();
    await waitFor("tools withdrawn", () => m.list().length === 0);
    expect(m.statuses()[0]?.state).toBe("restarting");
    const restarted = await waitFor("a restart", () => {
      const s = m.statuses()[0];
      return s?.state === "running" && s.containerId !== first!.containerId ? s : undefined;
    });
    const backAt = performance.now();
    expect(restarted.restarts).toBe(1);
    expect(states[0]).toBe("restarting:0");
    const result = await m.callTool(
      "fs",
      "read_text_file",
      { path: "/data/marker.txt" },
      { signal: never, deadlineMs: 10_000 },
    );
    expect(result.content).toEqual([{ type: "text", text: "fabricore marker 7f3a\n" }]);
    // The dead container was replaced, not left behind.
    const left = await ours();
    expect(left.map((c) => c.Id)).toEqual([restarted.containerId]);
    console.info(
      `[measure] kill → tools withdrawn ${(withdrawnAt - killedAt).toFixed(0)} ms, kill → running again ${(backAt - killedAt).toFixed(0)} ms`,
    );
  });

  it("a new manager instance adopts the running container, with no duplicate and no orphan", async () => {
    const first = manager();
    const [before] = await first.sync([fsSpec()]);
    // An orphan: a container this Node left for a server it no longer runs.
    const ghost = await buildContainerSpec(fsSpec({ name: "ghost" }), { nodeId, imageUser: "" });
    await raw.createContainer(ghost.create as unknown as Docker.ContainerCreateOptions);
    // Another Node's container on the same daemon must be left alone.
    const foreign = await buildContainerSpec(fsSpec({ name: "fs" }), { nodeId: `${nodeId}-other` });
    const foreignId = (await raw.createContainer(foreign.create as unknown as Docker.ContainerCreateOptions)).id;
    try {
      await first.close(); // the Node stops: containers keep running
      managers.splice(managers.indexOf(first), 1);
      expect((await raw.getContainer(before!.containerId!).inspect()).State.Running).toBe(true);

      const second = manager();
      const started = performance.now();
      const [after] = await second.sync([fsSpec()]);
      const adoptMs = performance.now() - started;
      expect(after).toMatchObject({ state: "running", containerId: before!.containerId });
      expect((await ours()).map((c) => c.Id)).toEqual([before!.containerId]);
      const result = await second.callTool(
        "fs",
        "read_text_file",
        { path: "/data/marker.txt" },
        { signal: never, deadlineMs: 10_000 },
      );
      expect(result.isError).toBe(false);
      expect((await raw.getContainer(foreignId).inspect()).Id).toBe(foreignId);

      // A changed spec is a different container: the old one goes.
      const [changed] = await second.sync([fsSpec({ limits: { pids: 64 } })]);
      expect(changed?.state).toBe("running");
      expect(changed?.containerId).not.toBe(before!.containerId);
      expect((await ours()).map((c) => c.Id)).toEqual([changed!.containerId]);
      expect((await raw.getContainer(changed!.containerId!).inspect()).HostConfig.PidsLimit).toBe(64);

      await second.sync([]);
      expect(await ours()).toEqual([]);
      expect(second.list()).toEqual([]);
      console.info(`[measure] adopting a running container: ${adoptMs.toFixed(0)} ms`);
    } finally {
      await raw.getContainer(foreignId).remove({ force: true });
    }
  });

  it("refuses the Docker socket, /, a relative path and a symlink into /etc, naming the reason, creating nothing", async () => {
    const link = join(dir, "etc-link");
    symlinkSync("/etc", link);
    const m = manager();
    const statuses = await m.sync([
      fsSpec({ name: "sock", mounts: [{ source: "/var/run/docker.sock", target: "/data", readOnly: true }] }),
      fsSpec({ name: "root", mounts: [{ source: "/", target: "/data", readOnly: true }] }),
      fsSpec({ name: "rel", mounts: [{ source: "data", target: "/data", readOnly: true }] }),
      fsSpec({ name: "link", mounts: [{ source: link, target: "/data", readOnly: true }] }),
    ]);
    const byName = Object.fromEntries(statuses.map((s) => [s.name, s]));
    expect(byName.sock).toMatchObject({ state: "failed" });
    expect(byName.sock?.error).toMatch(/Docker socket/);
    expect(byName.root?.error).toMatch(/"\/" would expose the whole host/);
    expect(byName.rel?.error).toMatch(/"data" is not an absolute path/);
    expect(byName.link?.error).toMatch(/resolves to "\/etc"/);
    expect(statuses.every((s) => s.state === "failed" && s.restarts === 0)).toBe(true);
    expect(m.list()).toEqual([]);
    expect(await ours()).toEqual([]);
  });

  it("reports an image that cannot be pulled as failed, with the daemon's reason", async () => {
    const m = manager();
    const [status] = await m.sync([fsSpec({ name: "missing", image: "fabricore-test/does-not-exist:1" })]);
    expect(status?.state).toBe("failed");
    expect(status?.error).toMatch(
      /^image "fabricore-test\/does-not-exist:1" is not on this host and could not be pulled: .+/,
    );
    expect(await ours()).toEqual([]);
  });

  it("over a container's stdio: concurrent calls, a deadline, a cancellation, and the server stays usable", async () => {
    const m = manager();
    const [status] = await m.sync([
      {
        kind: "managed",
        name: "every",
        image: EVERYTHING_IMAGE,
        args: [],
        env: {},
        mounts: [],
        network: "none",
        limits: {},
      },
    ]);
    expect(status?.state).toBe("running");
    expect(m.list().some((t) => t.name === "trigger-long-running-operation")).toBe(true);

    let started = performance.now();
    const echoes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        m.callTool("every", "echo", { message: `n${i}` }, { signal: never, deadlineMs: 10_000 }),
      ),
    );
    const concurrentMs = performance.now() - started;
    expect(echoes.map((r) => (r.content[0] as { text: string }).text)).toEqual(
      Array.from({ length: 20 }, (_, i) => `Echo: n${i}`),
    );

    const slow = { duration: 10, steps: 10 };
    started = performance.now();
    await expect(
      m.callTool("every", "trigger-long-running-operation", slow, { signal: never, deadlineMs: 300 }),
    ).rejects.toMatchObject({ code: "deadline_exceeded" });
    expect(performance.now() - started).toBeLessThan(2000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    started = performance.now();
    await expect(
      m.callTool("every", "trigger-long-running-operation", slow, { signal: controller.signal, deadlineMs: 30_000 }),
    ).rejects.toMatchObject({ code: "cancelled" });
    expect(performance.now() - started).toBeLessThan(2000);

    const after = await m.callTool("every", "echo", { message: "still here" }, { signal: never, deadlineMs: 5000 });
    expect(after.content).toEqual([{ type: "text", text: "Echo: still here" }]);
    expect(m.statuses()[0]).toMatchObject({ state: "running", restarts: 0 });
    console.info(`[measure] 20 concurrent echo calls over container stdio: ${concurrentMs.toFixed(0)} ms`);
  });

  it("gives up with the server's own stderr when it keeps crashing", async () => {
    const m = createMcpManager({
      docker: probe.docker,
      nodeId,
      logger: silentLogger,
      restart: { initialDelayMs: 50, maxDelayMs: 100, maxFailures: 3 },
    });
    managers.push(m);
    // No allowed directory that exists: the filesystem server prints why and exits 1.
    await m.sync([fsSpec({ name: "crashy", args: ["/nonexistent"] })]);
    const failed = await waitFor("failed", () => m.statuses().find((s) => s.state === "failed"));
    expect(failed.error).toMatch(/exited with code 1/);
    expect(failed.error).toMatch(/None of the specified directories are accessible/);
    expect(failed.error).toMatch(/gave up after 3 failures/);
    expect(failed.restarts).toBe(2);
    expect(await ours()).toEqual([]);
  });
});
