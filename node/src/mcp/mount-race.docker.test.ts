import { randomUUID } from "node:crypto";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ManagedMcpSpec } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, FILESYSTEM_IMAGE } from "../../../e2e/images/test-images.ts";
import { silentLogger } from "../logger.ts";
import { LABELS } from "../runtime/container-spec.ts";
import type { DockerApi } from "../runtime/docker-api.ts";
import { assertDocker } from "../runtime/testing/docker-suite.ts";
import { createMcpManager } from "./index.ts";
import { mcpDockerSuite } from "./testing/mcp-docker-suite.ts";

/**
 * Issue 21.6, defence 2, with real Docker: the checked mount source is swapped for a symlink in
 * the window between the Node's check and dockerd's start (this test plays the attacker inside
 * createContainer). dockerd follows the symlink and the container gets the decoy; the Node sees
 * that the directory at /data is not the one it checked and removes the container before the
 * MCP server is ever spoken to.
 */

const { probe, run, raw } = await mcpDockerSuite("mount race with Docker");
const nodeId = `race-${randomUUID().slice(0, 8)}`;

describe.skipIf(!run)("a mount source swapped between the check and the start (issue 21.6)", () => {
  let base = "";
  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
    base = realpathSync(mkdtempSync(join(tmpdir(), "fabricore-race-")));
    chmodSync(base, 0o755);
    for (const d of ["data", "decoy"]) {
      mkdirSync(join(base, d));
      chmodSync(join(base, d), 0o755);
    }
    writeFileSync(join(base, "decoy", "shadow"), "decoy secret\n", { mode: 0o644 });
  }, 120_000);

  afterAll(async () => {
    if (!probe.available) return;
    const ours = await raw.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${LABELS.node}=${nodeId}`] }),
    });
    for (const c of ours) await raw.getContainer(c.Id).remove({ force: true });
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it("the container got the decoy, so it is removed and the server fails with mount_refused", async () => {
    let swapped = false;
    const docker: DockerApi = Object.create(probe.docker!);
    docker.createContainer = async (spec) => {
      // The attacker's move, after the Node checked `data` and before dockerd resolves it.
      renameSync(join(base, "data"), join(base, "data.checked"));
      symlinkSync(join(base, "decoy"), join(base, "data"));
      swapped = true;
      return probe.docker!.createContainer(spec);
    };
    const manager = createMcpManager({
      docker,
      nodeId,
      logger: silentLogger,
      restart: { initialDelayMs: 50, maxDelayMs: 100, maxFailures: 1 },
    });
    try {
      const spec: ManagedMcpSpec = {
        kind: "managed",
        name: "fs",
        image: FILESYSTEM_IMAGE,
        args: ["/data"],
        env: {},
        mounts: [{ source: join(base, "data"), target: "/data", readOnly: true }],
        network: "none",
        limits: {},
      };
      const [status] = await manager.sync([spec]);
      expect(swapped).toBe(true);
      expect(status?.state).not.toBe("running");
      expect(status?.error).toMatch(/not the checked .*replaced between the check and the start/);
      expect(manager.list()).toEqual([]);
      const left = await raw.listContainers({
        all: true,
        filters: JSON.stringify({ label: [`${LABELS.node}=${nodeId}`] }),
      });
      expect(left).toEqual([]);
    } finally {
      await manager.close({ removeContainers: true });
    }
  });
});
