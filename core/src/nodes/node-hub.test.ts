import { coreToNode, InMemoryTransport, nodeToCore, ProtocolError, RpcPeer } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { createTestNode, helloParams, type TestNode, waitFor } from "../testing/test-node.ts";
import { NodeHub, type NodeHubOptions } from "./node-hub.ts";
import { NodeCloseCode } from "./ws-server-transport.ts";

const ID = { nodeId: "n1", name: "one" };

interface Harness extends TestNode {
  hub: NodeHub;
  events: string[];
  /** The Node side of the current in-memory connection. */
  nodeSide(): InMemoryTransport;
  connects: number;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function setup(hubOptions: Partial<NodeHubOptions> = {}, nodeOptions = {}): Promise<Harness> {
  const events: string[] = [];
  const hub = new NodeHub({
    authenticate: async () => null,
    desiredMcpServers: async () => [],
    heartbeatIntervalMs: 1_000,
    onOnline: (id) => events.push(`online:${id}`),
    onOffline: (id, reason) => events.push(`offline:${id}:${reason}`),
    onToolsChanged: (id, tools) => events.push(`tools:${id}:${tools.map((t) => t.name).join(",")}`),
    onHeartbeat: (id) => events.push(`heartbeat:${id}`),
    onMcpStatus: (id, servers) => events.push(`mcp:${id}:${servers.map((s) => `${s.name}=${s.state}`).join(",")}`),
    ...hubOptions,
  });
  let current: InMemoryTransport | undefined;
  const harness = {
    hub,
    events,
    connects: 0,
    nodeSide: () => current!,
  } as Harness;
  const node = createTestNode(async () => {
    const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
    harness.connects += 1;
    hub.accept(coreSide, ID);
    current = nodeSide;
    return nodeSide;
  }, nodeOptions);
  Object.assign(harness, node);
  node.manager.start();
  cleanups.push(async () => {
    await node.manager.stop();
    await hub.close();
  });
  await waitFor(() => hub.isOnline("n1"), 2_000, "node online");
  return harness;
}

describe("NodeHub over an in-memory pair, with the real Node program", () => {
  it("goes online at hello and knows the Node's tools", async () => {
    const { hub, events } = await setup();
    expect(hub.onlineCount()).toBe(1);
    expect(hub.onlineNodeIds()).toEqual(["n1"]);
    const info = hub.get("n1");
    expect(info?.name).toBe("one");
    expect(info?.hello.hostname).toBe("test-host");
    expect(info?.tools.map((t) => `${t.source}/${t.name}`)).toEqual([
      "builtin/read_file",
      "builtin/exec_command",
      "builtin/system_stats",
      "mcp:test/hang",
      "mcp:test/echo",
    ]);
    expect(events).toContain("online:n1");
    expect(hub.get("nobody")).toBeUndefined();
  });

  it("runs built-in tools end to end", async () => {
    const { hub } = await setup();
    const stats = await hub.callTool("n1", { name: "system_stats", deadlineMs: 5_000, callId: "s1" });
    expect(stats.isError).toBe(false);
    const disks = (stats.structuredContent?.disks ?? []) as Array<{ mount: string }>;
    expect(disks.some((d) => d.mount === "/")).toBe(true);
    const exec = await hub.callTool("n1", {
      name: "exec_command",
      arguments: { command: "echo hi" },
      deadlineMs: 5_000,
      callId: "e1",
    });
    expect(exec.structuredContent).toMatchObject({ exitCode: 0, stdout: "hi\n" });
    const read = await hub.callTool("n1", {
      name: "read_file",
      arguments: { path: "/etc/hostname" },
      deadlineMs: 5_000,
      callId: "r1",
    });
    expect(read.isError).toBe(true);
    expect(JSON.stringify(read.content)).toContain("--read-root");
    const bad = await hub.callTool("n1", {
      name: "read_file",
      arguments: { nope: 1 },
      deadlineMs: 5_000,
      callId: "r2",
    });
    expect(bad.isError).toBe(true);
  });

  it("refuses a tool the Node does not offer with tool_not_found", async () => {
    const { hub } = await setup();
    const error = await hub.callTool("n1", { name: "rm_rf", deadlineMs: 1_000, callId: "x" }).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("tool_not_found");
  });

  it("fails with node_offline for an unknown or disconnected Node", async () => {
    const { hub } = await setup();
    const error = await hub
      .callTool("n2", { name: "system_stats", deadlineMs: 1_000, callId: "x" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("node_offline");
  });

  it("the Node aborts the tool at deadlineMs; the call fails with deadline_exceeded", async () => {
    const { hub, provider } = await setup();
    const started = Date.now();
    const error = await hub
      .callTool("n1", { name: "hang", source: "mcp:test", deadlineMs: 100, callId: "d1" })
      .catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(provider.aborted).toBe(1);
  });

  it("gives up by itself at deadline plus grace when the Node never answers", async () => {
    const { hub } = await setup({ deadlineGraceMs: 50 });
    // A second, hand-made Node that accepts the call and never answers it.
    const [coreSide, silentNode] = InMemoryTransport.createLinkedPair();
    hub.accept(coreSide, { nodeId: "mute", name: "mute" });
    const mute = new RpcPeer(silentNode, { incoming: coreToNode, outgoing: nodeToCore });
    mute.setRequestHandler("tools/call", () => new Promise(() => {}));
    await mute.request("fabricore/hello", helloParams());
    const started = Date.now();
    const error = await hub.callTool("mute", { name: "x", deadlineMs: 100, callId: "m" }).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("deadline_exceeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("cancel: rejects with cancelled and the Node stops the tool", async () => {
    const { hub, provider } = await setup();
    const controller = new AbortController();
    const pending = hub
      .callTool(
        "n1",
        { name: "hang", source: "mcp:test", deadlineMs: 10_000, callId: "c1" },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    await waitFor(() => provider.executions === 1);
    controller.abort();
    expect(((await pending) as ProtocolError).code).toBe("cancelled");
    await waitFor(() => provider.aborted === 1, 1_000, "tool aborted on the Node");
  });

  it("a Node dropping mid-call fails the call at once with node_offline, then it reconnects", async () => {
    const harness = await setup();
    const { hub, provider, events } = harness;
    const pending = hub
      .callTool("n1", { name: "hang", source: "mcp:test", deadlineMs: 60_000, callId: "h1" })
      .catch((e: unknown) => e);
    await waitFor(() => provider.executions === 1);
    const started = Date.now();
    await harness.nodeSide().close(1006, "network gone");
    const error = (await pending) as ProtocolError;
    expect(error.code).toBe("node_offline");
    expect(Date.now() - started).toBeLessThan(200);
    expect(events.some((e) => e.startsWith("offline:n1"))).toBe(true);
    await waitFor(() => hub.isOnline("n1"), 3_000, "reconnect");
    expect(harness.connects).toBe(2);
    // A dropped connection is not a cancel: the tool still runs, and a retry with the same callId
    // joins it instead of starting it again.
    expect(provider.aborted).toBe(0);
    const controller = new AbortController();
    const retry = hub
      .callTool(
        "n1",
        { name: "hang", source: "mcp:test", deadlineMs: 60_000, callId: "h1" },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(provider.executions).toBe(1);
    controller.abort();
    expect(((await retry) as ProtocolError).code).toBe("cancelled");
    await waitFor(() => provider.aborted === 1, 1_000, "the retry's cancel reached the tool");
  });

  it("a duplicate callId executes once, even across a reconnect", async () => {
    const harness = await setup();
    const { hub, provider } = harness;
    const call = { name: "echo", source: "mcp:test", arguments: { a: 1 }, deadlineMs: 5_000, callId: "dup" };
    const [a, b] = await Promise.all([hub.callTool("n1", call), hub.callTool("n1", call)]);
    expect(a.structuredContent).toEqual(b.structuredContent);
    await harness.nodeSide().close(1006, "blip");
    await waitFor(() => !hub.isOnline("n1"));
    await waitFor(() => hub.isOnline("n1"), 3_000, "reconnect");
    const c = await hub.callTool("n1", call);
    expect(c.structuredContent).toEqual(a.structuredContent);
    expect(provider.executions).toBe(1);
  });

  it("takes tool changes, heartbeats with stats, and MCP sync", async () => {
    const received: unknown[] = [];
    const { hub, provider, events } = await setup(
      {
        heartbeatIntervalMs: 30,
        desiredMcpServers: async () => [{ kind: "remote", name: "web", url: "http://127.0.0.1:9/mcp" }],
      },
      {
        heartbeatStats: async () => ({ uptimeSeconds: 42 }),
        onDesiredMcpServers: async (specs: Array<{ name: string }>) => {
          received.push(specs.map((s) => s.name));
          return specs.map((s) => ({ name: s.name, state: "running" as const, toolCount: 1, restarts: 0 }));
        },
      },
    );
    // The HelloResult carried the desired servers; their state came back as fabricore/mcp/status.
    await waitFor(() => events.includes("mcp:n1:web=running"), 1_000, "mcp status");
    expect(received).toEqual([["web"]]);
    provider.setTools([{ name: "fresh", description: "", inputSchema: { type: "object" }, source: "mcp:test" }]);
    await waitFor(() => events.some((e) => e.startsWith("tools:n1:")), 1_000, "tools changed");
    expect(hub.get("n1")?.tools.map((t) => t.name)).toContain("fresh");
    await waitFor(() => events.includes("heartbeat:n1"), 1_000, "heartbeat");
    expect(hub.get("n1")?.stats?.uptimeSeconds).toBe(42);
    const statuses = await hub.syncMcp("n1", [{ kind: "remote", name: "other", url: "http://127.0.0.1:9/x" }]);
    expect(statuses).toEqual([{ name: "other", state: "running", toolCount: 1, restarts: 0 }]);
    expect(await hub.syncMcp("nobody", [])).toBeUndefined();
  });

  it("a Node without MCP support reports desired servers as failed", async () => {
    const { hub } = await setup();
    const statuses = await hub.syncMcp("n1", [{ kind: "remote", name: "web", url: "http://127.0.0.1:9/mcp" }]);
    expect(statuses?.[0]).toMatchObject({ name: "web", state: "failed" });
  });

  it("closes a Node silent for three intervals (one sweep, fake clock)", async () => {
    let now = 1_000_000;
    const { hub, events } = await setup({ now: () => now, heartbeatIntervalMs: 60_000 });
    hub.sweep();
    expect(hub.isOnline("n1")).toBe(true);
    now += 3 * 60_000 + 1;
    hub.sweep();
    expect(hub.isOnline("n1")).toBe(false);
    expect(events.some((e) => e.startsWith(`offline:n1:${NodeCloseCode.heartbeatTimeout}`))).toBe(true);
  });

  it("refuses another protocol version with version_mismatch and closes", async () => {
    const hub = new NodeHub({ authenticate: async () => null, desiredMcpServers: async () => [] });
    cleanups.push(() => hub.close());
    const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
    hub.accept(coreSide, ID);
    const peer = new RpcPeer(nodeSide, { incoming: coreToNode, outgoing: nodeToCore });
    const closed = new Promise<number>((resolve) => {
      peer.onclose = (info) => resolve(info.code);
    });
    const error = await peer
      .request("fabricore/hello", helloParams({ protocolVersion: 99, nodeVersion: "9" }))
      .catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("version_mismatch");
    expect(await closed).toBe(NodeCloseCode.versionMismatch);
    expect(hub.isOnline("n1")).toBe(false);
  });

  it("a second connection for the same Node replaces the first", async () => {
    const harness = await setup();
    const first = harness.nodeSide();
    const [coreSide] = InMemoryTransport.createLinkedPair();
    harness.hub.accept(coreSide, ID);
    expect(first.isClosed).toBe(true);
  });

  it("disconnect (revocation) closes at once", async () => {
    const { hub, events } = await setup();
    expect(await hub.disconnect("n1")).toBe(true);
    expect(hub.isOnline("n1")).toBe(false);
    expect(events.some((e) => e.startsWith(`offline:n1:${NodeCloseCode.revoked}`))).toBe(true);
    expect(await hub.disconnect("nobody")).toBe(false);
  });

  it("a failing desiredMcpServers fails the hello instead of telling the Node to stop everything", async () => {
    let fail = true;
    const hub = new NodeHub({
      authenticate: async () => null,
      desiredMcpServers: async () => {
        if (fail) throw new Error("database down");
        return [];
      },
    });
    const node = createTestNode(async () => {
      const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
      hub.accept(coreSide, ID);
      return nodeSide;
    });
    cleanups.push(async () => {
      await node.manager.stop();
      await hub.close();
    });
    node.manager.start();
    await waitFor(() => node.manager.attempts >= 2, 2_000, "retries");
    expect(hub.isOnline("n1")).toBe(false);
    fail = false;
    await waitFor(() => hub.isOnline("n1"), 2_000, "online after recovery");
  });
});
