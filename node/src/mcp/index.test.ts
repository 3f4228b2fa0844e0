import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveMounts } from "../runtime/container-spec.ts";
import { dockerSocketPath } from "./index.ts";

describe("dockerSocketPath", () => {
  it("names the socket file of a unix endpoint, and none for TCP", () => {
    expect(dockerSocketPath("/run/user/1000/docker.sock")).toBe("/run/user/1000/docker.sock");
    expect(dockerSocketPath("unix:///run/user/1000/docker.sock")).toBe("/run/user/1000/docker.sock");
    expect(dockerSocketPath("tcp://127.0.0.1:2375")).toBeUndefined();
    expect(dockerSocketPath("http://127.0.0.1:2375")).toBeUndefined();
  });

  // A rootless daemon's socket is outside the paths protocol's mount policy refuses by itself.
  describe("as a forbidden path", () => {
    const dir = mkdtempSync(join(tmpdir(), "fabricore-socket-"));
    const runtime = join(dir, "run-user-1000");
    mkdirSync(runtime);
    writeFileSync(join(runtime, "docker.sock"), "");
    mkdirSync(join(runtime, "data"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const forbidden = [dockerSocketPath(`unix://${join(runtime, "docker.sock")}`)!];
    const mount = (source: string) => [{ source, target: "/data", readOnly: true }];

    it("refuses the socket and the directory holding it, not a sibling directory", async () => {
      await expect(resolveMounts(mount(join(runtime, "docker.sock")), forbidden)).rejects.toThrow(/never mounted/);
      await expect(resolveMounts(mount(runtime), forbidden)).rejects.toThrow(/contains/);
      expect(await resolveMounts(mount(join(runtime, "data")), forbidden)).toEqual([
        { Type: "bind", Source: join(runtime, "data"), Target: "/data", ReadOnly: true },
      ]);
    });
  });
});
