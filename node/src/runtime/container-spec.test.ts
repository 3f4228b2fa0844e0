import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManagedMcpSpec } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildContainerSpec, DEFAULT_USER, LABELS, resolveMounts } from "./container-spec.ts";
import { RuntimeError } from "./errors.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fabricore-spec-"));
  mkdirSync(join(dir, "data"));
  mkdirSync(join(dir, "node-data"));
  symlinkSync("/etc", join(dir, "to-etc"));
  symlinkSync(join(dir, "node-data"), join(dir, "to-node-data"));
  symlinkSync(join(dir, "data"), join(dir, "to-data"));
  chmodSync(dir, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (overrides: Partial<ManagedMcpSpec> = {}) =>
  ManagedMcpSpec.parse({
    kind: "managed",
    name: "fs",
    image: "mcp/filesystem",
    args: ["/data"],
    mounts: [{ source: join(dir, "data"), target: "/data" }],
    ...overrides,
  });

const refused = async (promise: Promise<unknown>): Promise<string> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RuntimeError);
  expect((error as RuntimeError).code).toBe("mount_refused");
  expect((error as RuntimeError).permanent).toBe(true);
  return (error as Error).message;
};

describe("buildContainerSpec", () => {
  it("produces the hardened create body", async () => {
    const { create, hash } = await buildContainerSpec(spec({ env: { A: "1" } }), { nodeId: "n1", nameSuffix: "abc" });
    expect(create).toEqual({
      name: "fabricore-fs-abc",
      Image: "mcp/filesystem",
      Cmd: ["/data"],
      Env: ["A=1"],
      Labels: { [LABELS.managed]: "true", [LABELS.node]: "n1", [LABELS.server]: "fs", [LABELS.specHash]: hash },
      User: DEFAULT_USER,
      OpenStdin: true,
      StdinOnce: false,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        Mounts: [{ Type: "bind", Source: realpathSync(join(dir, "data")), Target: "/data", ReadOnly: true }],
        ReadonlyRootfs: true,
        Tmpfs: { "/tmp": "rw,noexec,nosuid,nodev,size=64m" },
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        NetworkMode: "none",
        Memory: 512 * 1024 * 1024,
        MemorySwap: 512 * 1024 * 1024,
        NanoCpus: 1_000_000_000,
        PidsLimit: 128,
        RestartPolicy: { Name: "no" },
        AutoRemove: false,
        Privileged: false,
      },
    });
  });

  it("honours the spec's limits, network, writable mounts and user; keeps an image's own non-root user", async () => {
    const { create } = await buildContainerSpec(
      spec({
        network: "open",
        limits: { memoryBytes: 64 * 1024 * 1024, pids: 16, nanoCpus: 250_000_000 },
        mounts: [{ source: join(dir, "data"), target: "/data", readOnly: false }],
        user: "1000:1000",
      }),
      { nodeId: "n1" },
    );
    expect(create.HostConfig).toMatchObject({
      NetworkMode: "bridge",
      Memory: 64 * 1024 * 1024,
      PidsLimit: 16,
      NanoCpus: 250_000_000,
    });
    expect(create.HostConfig.Mounts[0]?.ReadOnly).toBe(false);
    expect(create.User).toBe("1000:1000");
    expect((await buildContainerSpec(spec(), { nodeId: "n1", imageUser: "node" })).create.User).toBeUndefined();
    expect((await buildContainerSpec(spec(), { nodeId: "n1", imageUser: "root" })).create.User).toBe(DEFAULT_USER);
    expect((await buildContainerSpec(spec(), { nodeId: "n1", imageUser: "0:0" })).create.User).toBe(DEFAULT_USER);
  });

  it("hashes what shapes the container, not the order fields arrived in", async () => {
    const a = await buildContainerSpec(spec({ env: { A: "1", B: "2" } }), { nodeId: "n1" });
    const b = await buildContainerSpec(spec({ env: { B: "2", A: "1" } }), { nodeId: "n1" });
    const c = await buildContainerSpec(spec({ env: { A: "1", B: "3" } }), { nodeId: "n1" });
    const d = await buildContainerSpec(spec({ args: ["/other"] }), { nodeId: "n1" });
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
    expect(a.hash).not.toBe(d.hash);
    // A symlinked source is the same container as the real path.
    const e = await buildContainerSpec(
      spec({ env: { A: "1", B: "2" }, mounts: [{ source: join(dir, "to-data"), target: "/data", readOnly: true }] }),
      {
        nodeId: "n1",
      },
    );
    expect(e.hash).toBe(a.hash);
  });
});

describe("resolveMounts (the Node's second check)", () => {
  it("refuses the socket, /, relative paths and missing sources", async () => {
    const m = (source: string) => [{ source, target: "/data", readOnly: true }];
    expect(await refused(resolveMounts(m("/var/run/docker.sock")))).toMatch(/Docker socket/);
    expect(await refused(resolveMounts(m("/")))).toMatch(/whole host/);
    expect(await refused(resolveMounts(m("relative/dir")))).toMatch(/not an absolute path/);
    expect(await refused(resolveMounts(m(join(dir, "nope"))))).toMatch(/does not exist on this host/);
  });

  it("refuses a symlink that resolves into a forbidden place, including the Node's data dir", async () => {
    const m = (source: string) => [{ source, target: "/data", readOnly: true }];
    expect(await refused(resolveMounts(m(join(dir, "to-etc"))))).toMatch(/resolves to "\/etc": .*never mounted/);
    const forbidden = [join(dir, "node-data")];
    expect(await refused(resolveMounts(m(join(dir, "to-node-data")), forbidden))).toMatch(/resolves to/);
    expect(await refused(resolveMounts(m(dir), forbidden))).toMatch(/contains/);
    expect(await resolveMounts(m(join(dir, "to-data")), forbidden)).toEqual([
      { Type: "bind", Source: realpathSync(join(dir, "data")), Target: "/data", ReadOnly: true },
    ]);
  });
});
