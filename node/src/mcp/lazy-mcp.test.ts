import { resolve } from "node:path";
import type { McpServerSpec, McpServerStatus } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../logger.ts";
import { containerNodeId, LABELS } from "../runtime/container-labels.ts";
import type { ContainerSummary, DockerApi } from "../runtime/docker-api.ts";
import type { McpProvider } from "../tools/tool-provider.ts";
import { LazyMcp } from "./lazy-mcp.ts";

const options = { dockerSocket: "/nonexistent/docker.sock", dataDir: "relative/data", logger: silentLogger };

/** A DockerApi that only lists: what LazyMcp asks before any manager exists. */
function listingDocker(containers: ContainerSummary[] | Error) {
  const asked: Record<string, string>[] = [];
  const docker = {
    listContainers: async (labels: Record<string, string>) => {
      asked.push(labels);
      if (containers instanceof Error) throw containers;
      return containers;
    },
  } as unknown as DockerApi;
  return { docker, asked };
}

/** A manager that records what it was asked and reports what a real one would. */
function recordingManager() {
  const calls: string[] = [];
  const change = new Set<() => void>();
  const status = new Set<(servers: McpServerStatus[]) => void>();
  const running: McpServerStatus = { name: "fs", state: "running", toolCount: 1, restarts: 0 };
  const manager = {
    sync: async (specs: McpServerSpec[]) => {
      calls.push(`sync:${specs.length}`);
      for (const listener of change) listener();
      for (const listener of status) listener(specs.length > 0 ? [running] : []);
      return specs.length > 0 ? [running] : [];
    },
    status: () => [],
    list: () => [],
    call: async () => ({ content: [] }),
    restartServer: async (name: string) => {
      calls.push(`restart:${name}`);
      return running;
    },
    serverLogs: async () => ({ lines: [], truncated: false }),
    onChange: (listener: () => void) => {
      change.add(listener);
      return () => change.delete(listener);
    },
    onStatus: (listener: (servers: McpServerStatus[]) => void) => {
      status.add(listener);
      return () => status.delete(listener);
    },
    close: async () => {
      calls.push("close");
    },
  } as unknown as McpProvider;
  let loads = 0;
  const load = async () => {
    loads += 1;
    return manager;
  };
  return { load, calls, loads: () => loads };
}

const spec = { kind: "remote", name: "fs", url: "http://127.0.0.1:9/mcp" } as unknown as McpServerSpec;

describe("LazyMcp", () => {
  it("answers an empty desired set without building the manager, after looking for this Node's containers", async () => {
    const { docker, asked } = listingDocker([]);
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, docker);
    const events: string[] = [];
    mcp.onChange(() => events.push("change"));
    mcp.onStatus((servers) => events.push(`status:${servers.length}`));

    expect(await mcp.sync([])).toEqual([]);
    expect(real.loads()).toBe(0);
    expect(mcp.loaded).toBe(false);
    // The same label the manager stamps (create-mcp-manager.ts derives it from the resolved data dir).
    expect(asked).toEqual([{ [LABELS.managed]: "true", [LABELS.node]: containerNodeId(resolve(options.dataDir)) }]);
    // The manager's sync([]) reports a change and an empty status; the Core hears the same.
    expect(events).toEqual(["change", "status:0"]);
    expect(mcp.status()).toEqual([]);
    expect(mcp.list()).toEqual([]);
  });

  it("hands an empty set to the manager when containers of this Node are left, so it removes them", async () => {
    const { docker } = listingDocker([{ id: "c1", state: "exited", labels: { [LABELS.server]: "old" } }]);
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, docker);
    expect(await mcp.sync([])).toEqual([]);
    expect(real.loads()).toBe(1);
    expect(real.calls).toEqual(["sync:0"]);
  });

  it("treats an unreachable Docker as nothing left behind, as the manager does", async () => {
    const { docker } = listingDocker(Object.assign(new Error("connect ENOENT"), { code: "ENOENT" }));
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, docker);
    expect(await mcp.sync([])).toEqual([]);
    expect(real.loads()).toBe(0);
  });

  it("builds the manager once for the first server and forwards its changes to earlier listeners", async () => {
    const { docker, asked } = listingDocker([]);
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, docker);
    const statuses: number[] = [];
    mcp.onStatus((servers) => statuses.push(servers.length));

    const [first, second] = await Promise.all([mcp.sync([spec]), mcp.sync([])]);
    expect(first).toEqual([expect.objectContaining({ name: "fs", state: "running" })]);
    expect(second).toEqual([]);
    expect(real.loads()).toBe(1);
    // In order, and the second (empty) set went to the manager, which stops the server.
    expect(real.calls).toEqual(["sync:1", "sync:0"]);
    expect(asked).toEqual([]);
    expect(statuses).toEqual([1, 0]);
    expect(mcp.loaded).toBe(true);
    await mcp.close();
    expect(real.calls.at(-1)).toBe("close");
  });

  it("delegates restart and logs to the manager, which knows what servers exist", async () => {
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, listingDocker([]).docker);
    await mcp.restartServer("fs");
    expect(real.calls).toEqual(["restart:fs"]);
  });

  it("refuses to start anything once closed, without building the manager", async () => {
    const real = recordingManager();
    const mcp = new LazyMcp(options, real.load, listingDocker([]).docker);
    await mcp.close();
    await expect(mcp.sync([spec])).rejects.toMatchObject({ code: "not_allowed" });
    await expect(mcp.sync([])).rejects.toMatchObject({ code: "not_allowed" });
    await expect(mcp.restartServer("fs")).rejects.toMatchObject({ code: "not_allowed" });
    expect(real.loads()).toBe(0);
  });
});
