import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedMcpSpec } from "@fabricore/protocol";
import { afterAll, describe, expect, it } from "vitest";
import { buildContainerSpec } from "./container-spec.ts";
import { checkMountRoots, checkSpecPolicy, imageAllowed, type McpPolicy } from "./node-policy.ts";

const base = mkdtempSync(join(tmpdir(), "fabricore-policy-"));
const data = join(base, "data");
const scratch = join(base, "scratch");
const outside = join(base, "outside");
for (const dir of [data, join(data, "sub"), scratch, outside]) mkdirSync(dir);
symlinkSync(outside, join(data, "escape"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

const policy: McpPolicy = {
  mountRoots: [data],
  mountRwRoots: [scratch],
  allowImages: ["mcp/*", "ghcr.io/acme/tool:1.*"],
};

const spec = (fields: Record<string, unknown>) =>
  ManagedMcpSpec.parse({ kind: "managed", name: "fs", image: "mcp/filesystem", ...fields });

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: { code: string; message: string }) => e,
  );

describe("the Node's MCP policy", () => {
  it("mounts only below --mount-root, after resolving symlinks", async () => {
    const build = (source: string, readOnly = true) =>
      buildContainerSpec(spec({ mounts: [{ source, target: "/data", readOnly }] }), { nodeId: "n", policy });
    await expect(build(join(data, "sub"))).resolves.toBeDefined();
    expect(await refusal(build(outside))).toMatchObject({
      code: "mount_refused",
      message: expect.stringContaining("outside this Node's mount roots"),
    });
    expect(await refusal(build(join(data, "escape")))).toMatchObject({ code: "mount_refused" });
  });

  it("mounts writable only below --mount-rw-root (which is readable too)", async () => {
    const build = (source: string, readOnly: boolean) =>
      buildContainerSpec(spec({ mounts: [{ source, target: "/data", readOnly }] }), { nodeId: "n", policy });
    expect(await refusal(build(data, false))).toMatchObject({
      code: "mount_refused",
      message: expect.stringContaining("writable mount source"),
    });
    await expect(build(scratch, false)).resolves.toBeDefined();
    await expect(build(scratch, true)).resolves.toBeDefined();
  });

  it("without any --mount-root refuses every mount, naming the flag", async () => {
    const none: McpPolicy = { mountRoots: [], mountRwRoots: [], allowImages: [] };
    const error = await refusal(checkMountRoots([{ Type: "bind", Source: data, Target: "/d", ReadOnly: true }], none));
    expect(error).toMatchObject({ code: "mount_refused", message: expect.stringContaining("--mount-root") });
    await expect(checkMountRoots([], none)).resolves.toBeUndefined();
  });

  it("limits images to the --allow-image globs, before anything is pulled", () => {
    expect(imageAllowed("mcp/filesystem", policy.allowImages)).toBe(true);
    expect(imageAllowed("ghcr.io/acme/tool:1.4", policy.allowImages)).toBe(true);
    expect(imageAllowed("ghcr.io/acme/tool:2.0", policy.allowImages)).toBe(false);
    expect(imageAllowed("evil/mcp/filesystem", policy.allowImages)).toBe(false);
    expect(imageAllowed("anything", [])).toBe(true);
    expect(() => checkSpecPolicy(spec({ image: "evil/miner" }), policy)).toThrow(/--allow-image/);
  });

  it("refuses environment values that would read as command-line options", () => {
    expect(() => checkSpecPolicy(spec({ env: { OPTS: "--privileged" } }), policy)).toThrow(/OPTS.*"-"/);
    expect(() => checkSpecPolicy(spec({ env: { HOME: "/tmp", N: "1" } }), policy)).not.toThrow();
    // Issue 15.6: a leading space does not hide the option from `server $OPTS`.
    for (const value of [" --inspect=0.0.0.0:9229", "\t-x", "\n --flag"]) {
      expect(() => checkSpecPolicy(spec({ env: { NODE_OPTIONS: value } }), policy)).toThrow(/NODE_OPTIONS/);
    }
    expect(() => checkSpecPolicy(spec({ env: { GREETING: "hello -x" } }), policy)).not.toThrow();
  });
});
