import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { resolvePreset } from "@fabricore/core/services/mcp-presets.ts";
import { silentLogger } from "@fabricore/node/logger.ts";
import { createMcpManager } from "@fabricore/node/mcp/index.ts";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages } from "./images/test-images.ts";

/*
 * The filesystem preset end to end: the Core's resolvePreset builds the spec, a Node process runs
 * it in Docker, that process dies without any cleanup (SIGKILL), and a fresh manager — as a
 * restarted Node would — adopts the container it left instead of starting a second one.
 */

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "filesystem preset e2e");
const nodeId = `e2e-${randomUUID().slice(0, 8)}`;
const raw = new Docker(dockerOptions(testDockerEndpoint()));
const never = new AbortController().signal;

/** A Node-like process: syncs the spec, prints the status line, then waits to be killed. */
function nodeProcessScript(spec: unknown): string {
  const mcp = pathToFileURL(join(import.meta.dirname, "../node/src/mcp/index.ts")).href;
  return `
    import { createMcpManager } from ${JSON.stringify(mcp)};
    const manager = createMcpManager({ docker: ${JSON.stringify(testDockerEndpoint())}, nodeId: ${JSON.stringify(nodeId)} });
    const [status] = await manager.sync([${JSON.stringify(spec)}]);
    process.stdout.write(JSON.stringify(status) + "\\n");
    setInterval(() => {}, 1000);
  `;
}

describe.skipIf(!run)("filesystem preset → Node → Docker, across a Node crash", () => {
  let dir = "";

  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
    dir = mkdtempSync(join(tmpdir(), "fabricore-e2e-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "marker.txt"), "e2e marker c41b\n", { mode: 0o644 });
  }, 120_000);

  afterAll(async () => {
    if (!probe.available) return;
    const left = await raw.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`fabricore.node=${nodeId}`] }),
    });
    for (const c of left) await raw.getContainer(c.Id).remove({ force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs the preset with its limits, survives the Node's SIGKILL, and is adopted by the next Node", async () => {
    const spec = resolvePreset("filesystem", { name: "files", mounts: [{ source: dir, target: "/projects/e2e" }] });
    expect(spec.args).toEqual(["/projects/e2e"]);

    const child = spawn(process.execPath, ["--input-type=module", "-e", nodeProcessScript(spec)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.on("exit", (code) => reject(new Error(`Node process exited with ${code}: ${stderr}`)));
    });
    const first = JSON.parse(line) as { state: string; containerId: string };
    expect(first.state).toBe("running");

    const info = await raw.getContainer(first.containerId).inspect();
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.PidsLimit).toBe(64);
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect(info.Mounts).toEqual([expect.objectContaining({ Destination: "/projects/e2e", RW: false })]);

    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    expect((await raw.getContainer(first.containerId).inspect()).State.Running).toBe(true);

    const next = createMcpManager({ docker: probe.docker, nodeId, logger: silentLogger });
    try {
      const [adopted] = await next.sync([spec]);
      expect(adopted).toMatchObject({ state: "running", containerId: first.containerId });
      const result = await next.callTool(
        "files",
        "read_text_file",
        { path: "/projects/e2e/marker.txt" },
        {
          signal: never,
          deadlineMs: 10_000,
        },
      );
      expect(result.content).toEqual([{ type: "text", text: "e2e marker c41b\n" }]);
      const ours = await raw.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`fabricore.node=${nodeId}`] }),
      });
      expect(ours.map((c) => c.Id)).toEqual([first.containerId]);
    } finally {
      await next.close({ removeContainers: true });
    }
    const left = await raw.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`fabricore.node=${nodeId}`] }),
    });
    expect(left).toEqual([]);
  });
});
