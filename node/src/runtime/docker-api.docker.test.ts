import { randomUUID } from "node:crypto";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EVERYTHING_IMAGE, ensureTestImages } from "../../../e2e/images/test-images.ts";
import { buildContainerSpec, LABELS } from "./container-spec.ts";
import { dockerOptions } from "./docker-api.ts";
import { RuntimeError } from "./errors.ts";
import { ensureImage } from "./images.ts";
import { assertDocker, probeDocker, shouldRunDockerSuite, testDockerEndpoint } from "./testing/docker-suite.ts";

const probe = await probeDocker();
const run = shouldRunDockerSuite(probe, "DockerApi");
const nodeId = `api-${randomUUID().slice(0, 8)}`;

describe.skipIf(!run)("DockerApi (real daemon)", () => {
  const docker = probe.docker;
  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
  }, 120_000);
  afterAll(async () => {
    if (!probe.available) return;
    for (const c of await docker.listContainers({ [LABELS.node]: nodeId })) await docker.removeContainer(c.id);
  });

  it("inspects images, and turns a failed pull into an image_unavailable error with the daemon's reason", async () => {
    expect(await docker.inspectImage("fabricore-test/does-not-exist:1")).toBeUndefined();
    expect((await docker.inspectImage(EVERYTHING_IMAGE))?.user).toBe("65534:65534");
    const error = await ensureImage(docker, "fabricore-test/does-not-exist:1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe("image_unavailable");
    expect((error as RuntimeError).permanent).toBe(true);
    expect((error as Error).message).toMatch(
      /^image "fabricore-test\/does-not-exist:1" is not on this host and could not be pulled: \S/,
    );
  });

  it("creates, attaches (stdin and demultiplexed stdout/stderr), starts, lists by label, waits and removes", async () => {
    const { create } = await buildContainerSpec(
      {
        kind: "managed",
        name: "raw",
        image: EVERYTHING_IMAGE,
        args: [],
        env: {},
        mounts: [],
        network: "none",
        limits: {},
      },
      { nodeId },
    );
    const id = await docker.createContainer(create);
    const stdio = await docker.attachContainer(id);
    let stdout = "";
    let stderr = "";
    stdio.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    stdio.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await docker.startContainer(id);
    stdio.stdin.write(
      `${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } } })}\n`,
    );
    const deadline = Date.now() + 10_000;
    while (!stdout.includes('"id":1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const reply = stdout.split("\n").find((line) => line.includes('"id":1'));
    expect(JSON.parse(reply!)).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: expect.any(Object) } });
    // The server's log went to stderr, never into the JSON-RPC stream.
    expect(stderr).toMatch(/STDIO/);
    expect(stdout).not.toMatch(/STDIO/);

    const listed = await docker.listContainers({ [LABELS.node]: nodeId, [LABELS.server]: "raw" });
    expect(listed).toEqual([expect.objectContaining({ id, state: "running" })]);
    expect(await docker.listContainers({ [LABELS.node]: nodeId, [LABELS.server]: "other" })).toEqual([]);

    const exited = docker.waitContainer(id);
    await new Docker(dockerOptions(testDockerEndpoint())).getContainer(id).kill();
    expect(await exited).toBe(137);
    expect(await docker.inspectContainer(id)).toMatchObject({ running: false, exitCode: 137, oomKilled: false });
    stdio.close();
    await docker.removeContainer(id);
    await docker.removeContainer(id); // already gone: not an error
    expect(await docker.inspectContainer(id)).toBeUndefined();
  });
});
