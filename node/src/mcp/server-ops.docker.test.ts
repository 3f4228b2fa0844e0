import { randomUUID } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ManagedMcpSpec } from "@fabricore/protocol";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, FILESYSTEM_IMAGE } from "../../../e2e/images/test-images.ts";
import { silentLogger } from "../logger.ts";
import { LABELS } from "../runtime/container-spec.ts";
import { assertDocker } from "../runtime/testing/docker-suite.ts";
import { createMcpManager } from "./index.ts";
import type { McpManager } from "./mcp-manager.ts";
import { mcpDockerSuite, waitFor } from "./testing/mcp-docker-suite.ts";

/* Retry/restart and logs of one server (issue 22.5), against real Docker and the real filesystem server. */

const { probe, run, raw } = await mcpDockerSuite("MCP server restart and logs with Docker");
const nodeId = `test-ops-${randomUUID().slice(0, 8)}`;

describe.skipIf(!run)("McpManager restartServer and serverLogs", () => {
  let dir = "";
  const managers: McpManager[] = [];
  const manager = (policy?: Parameters<typeof createMcpManager>[0]["policy"]) => {
    const m = createMcpManager({
      docker: probe.docker,
      nodeId,
      logger: silentLogger,
      restart: { initialDelayMs: 50, maxDelayMs: 100, maxFailures: 2 },
      policy,
    });
    managers.push(m);
    return m;
  };
  // The directory the server is told to serve is below the mount: missing until the test makes it.
  const spec = (): ManagedMcpSpec => ({
    kind: "managed",
    name: "fs",
    image: FILESYSTEM_IMAGE,
    args: ["/data/sub"],
    env: {},
    mounts: [{ source: dir, target: "/data", readOnly: true }],
    network: "none",
    limits: {},
  });
  const ours = async () =>
    raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.node}=${nodeId}`] }) });

  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
  }, 120_000);

  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close({ removeContainers: true })));
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = "";
  });

  afterAll(async () => {
    if (!probe.available) return;
    for (const c of await ours()) await raw.getContainer(c.Id).remove({ force: true });
  });

  it("keeps a failed start's stderr, retries it on restart, and reads a running container's log from Docker", async () => {
    dir = mkdtempSync(join(tmpdir(), "fabricore-ops-"));
    chmodSync(dir, 0o755);
    const m = manager();
    await m.sync([spec()]);
    const failed = await waitFor("failed", () => m.statuses().find((s) => s.state === "failed"));
    expect(failed.error).toContain("None of the specified directories are accessible");
    // Its container is gone (removed after the failed start): the log is what the Node kept.
    expect(await ours()).toHaveLength(0);
    const before = await m.serverLogs("fs", 100);
    expect(before.source).toBe("node");
    const texts = before.lines.map((l) => `${l.stream}: ${l.text}`);
    expect(texts).toContain("stderr: Warning: Cannot access directory /data/sub, skipping");
    expect(texts).toContain("stderr: Error: None of the specified directories are accessible");
    expect(texts[0]).toBe("node: starting");
    expect(texts.some((t) => t.startsWith("node: failed: ") && t.includes("gave up after 2 failures"))).toBe(true);
    // Both attempts are there.
    expect(texts.filter((t) => t === "stderr: Error: None of the specified directories are accessible")).toHaveLength(
      2,
    );
    expect((await m.serverLogs("fs", 2)).lines).toHaveLength(2);

    // The operator fixes the host, then retries: the same spec, a fresh start.
    mkdirSync(join(dir, "sub"), { mode: 0o755 });
    chmodSync(join(dir, "sub"), 0o755);
    const retried = await m.restartServer("fs");
    expect(retried).toMatchObject({ name: "fs", state: "running", restarts: 2 });
    expect(m.list().some((t) => t.name === "read_text_file")).toBe(true);

    const running = await m.serverLogs("fs", 50);
    expect(running.source).toBe("container");
    expect(running.containerId).toBe(retried.containerId);
    expect(running.lines.map((l) => l.text)).toContain("Secure MCP Filesystem Server running on stdio");
    expect(running.lines.every((l) => l.stream === "stderr" && typeof l.at === "string")).toBe(true);
    // stdout is the MCP connection: none of its JSON-RPC messages are in the log.
    expect(running.lines.some((l) => l.text.includes('"jsonrpc"'))).toBe(false);
  }, 60_000);

  it("restarts a running server into a new container, its tools withdrawn and offered again", async () => {
    dir = mkdtempSync(join(tmpdir(), "fabricore-ops-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "sub"), { mode: 0o755 });
    chmodSync(join(dir, "sub"), 0o755);
    const m = manager();
    const [first] = await m.sync([spec()]);
    expect(first).toMatchObject({ state: "running", restarts: 0 });
    const states: string[] = [];
    m.onStatus((servers) => states.push(servers[0]?.state ?? "none"));
    const restarted = await m.restartServer("fs");
    expect(restarted).toMatchObject({ state: "running", restarts: 1 });
    expect(restarted.containerId).not.toBe(first?.containerId);
    expect(states).toContain("starting");
    // Exactly one container for the server: the old one was removed.
    const containers = await ours();
    expect(containers.map((c) => c.Id)).toEqual([restarted.containerId]);
    const notes = (await m.serverLogs("fs", 10)).lines;
    expect(notes[0]?.text).toBe("Secure MCP Filesystem Server running on stdio");
    // Unknown servers are refused, not invented.
    await expect(m.restartServer("nope")).rejects.toMatchObject({ code: "invalid_params" });
    await expect(m.serverLogs("nope", 10)).rejects.toMatchObject({ code: "invalid_params" });
  }, 60_000);

  it("a restart is still bound by the Node's policy: an image it does not allow fails again", async () => {
    dir = mkdtempSync(join(tmpdir(), "fabricore-ops-"));
    chmodSync(dir, 0o755);
    const m = manager({ mountRoots: [dir], mountRwRoots: [], allowImages: ["fabricore-test/*"] });
    await m.sync([spec()]);
    const refused = await waitFor("failed", () => m.statuses().find((s) => s.state === "failed"));
    expect(refused.error).toContain("--allow-image");
    const again = await m.restartServer("fs");
    expect(again.state).toBe("failed");
    expect(again.error).toContain("--allow-image");
    const log = await m.serverLogs("fs", 20);
    expect(log.lines.filter((l) => l.stream === "node" && l.text.includes("--allow-image"))).toHaveLength(2);
  }, 60_000);
});
