import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, FILESYSTEM_IMAGE } from "../../../e2e/images/test-images.ts";
import { silentLogger } from "../logger.ts";
import { containerNodeId, LABELS } from "../runtime/container-labels.ts";
import { assertDocker, testDockerEndpoint } from "../runtime/testing/docker-suite.ts";
import { LazyMcp } from "./lazy-mcp.ts";
import { mcpDockerSuite } from "./testing/mcp-docker-suite.ts";

/* The lazy provider with the real manager and real Docker: an idle Node builds no manager, but the
 * containers an earlier run of it left behind are still removed when the Core wants no servers. */

const { probe, run, raw } = await mcpDockerSuite("LazyMcp with Docker");

describe.skipIf(!run)("LazyMcp with Docker", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "fabricore-lazy-mcp-"));
  const nodeId = containerNodeId(resolve(dataDir));
  const ours = async () =>
    raw.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.node}=${nodeId}`] }) });
  const options = { dockerSocket: testDockerEndpoint(), dataDir, logger: silentLogger };

  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
  }, 120_000);

  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (!probe.available) return;
    for (const c of await ours()) await raw.getContainer(c.Id).remove({ force: true });
  });

  it("stays unbuilt when this Node has no containers", async () => {
    const mcp = new LazyMcp(options);
    expect(await mcp.sync([])).toEqual([]);
    expect(mcp.loaded).toBe(false);
    await mcp.close();
  });

  it("builds the real manager to remove a container this Node left behind", async () => {
    const left = await raw.createContainer({
      Image: FILESYSTEM_IMAGE,
      Cmd: ["/tmp"],
      Labels: { [LABELS.managed]: "true", [LABELS.node]: nodeId, [LABELS.server]: "gone" },
    });
    expect(await ours()).toHaveLength(1);
    const mcp = new LazyMcp(options);
    expect(await mcp.sync([])).toEqual([]);
    expect(mcp.loaded).toBe(true);
    expect(await ours()).toHaveLength(0);
    await mcp.close();
    await raw
      .getContainer(left.id)
      .remove({ force: true })
      .catch(() => {});
  });
});
