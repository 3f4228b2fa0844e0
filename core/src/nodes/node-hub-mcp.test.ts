import {
  coreToNode,
  InMemoryTransport,
  type McpServerStatus,
  nodeToCore,
  type ProtocolError,
  RpcPeer,
} from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { helloParams, waitFor } from "../testing/test-node.ts";
import { NodeHub } from "./node-hub.ts";

const hubs: NodeHub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

const running: McpServerStatus = { name: "git", state: "running", toolCount: 3, restarts: 1 };

function connect() {
  const statuses: Array<[string, string[]]> = [];
  const hub = new NodeHub({
    authenticate: async () => null,
    desiredMcpServers: async () => [],
    onMcpStatus: (id, servers) => statuses.push([id, servers.map((s) => `${s.name}=${s.state}`)]),
  });
  hubs.push(hub);
  const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
  hub.accept(coreSide, { nodeId: "n1", name: "one" });
  const node = new RpcPeer(nodeSide, { incoming: coreToNode, outgoing: nodeToCore });
  return { hub, node, statuses };
}

describe("NodeHub and the Node's MCP servers (node-hub-mcp.ts)", () => {
  it("keeps the status a Node reports after its hello, and ignores one sent before", async () => {
    const { hub, node, statuses } = connect();
    await node.notify("fabricore/mcp/status", { servers: [running] });
    await node.request("fabricore/hello", helloParams());
    expect(statuses).toEqual([]);
    await node.notify("fabricore/mcp/status", { servers: [running] });
    await waitFor(() => statuses.length === 1, 2_000, "the status");
    expect(statuses).toEqual([["n1", ["git=running"]]]);
    expect(hub.get("n1")?.mcpServers.map((s) => s.name)).toEqual(["git"]);
  });

  it("restarts a server and reads its logs on the Node; node_offline when it is not connected", async () => {
    const { hub, node } = connect();
    node.setRequestHandler("fabricore/mcp/restart", async ({ name }) => ({
      server: { ...running, name, restarts: 2 },
    }));
    node.setRequestHandler("fabricore/mcp/logs", async ({ name, tail }) => ({
      name,
      source: "node" as const,
      lines: [{ stream: "node" as const, text: `last ${tail}` }],
      truncated: false,
    }));
    const offline = await hub.mcpServerOp("n1", { kind: "restart", name: "git" }).catch((e: unknown) => e);
    expect((offline as ProtocolError).code).toBe("node_offline");
    await node.request("fabricore/hello", helloParams());
    const restarted = await hub.mcpServerOp("n1", { kind: "restart", name: "git" });
    expect(restarted).toMatchObject({ kind: "restart", server: { name: "git", restarts: 2 } });
    const logs = await hub.mcpServerOp("n1", { kind: "logs", name: "git", tail: 5 });
    expect(logs).toMatchObject({ kind: "logs", name: "git", lines: [{ text: "last 5" }] });
    expect(await hub.syncMcp("nobody", [])).toBeUndefined();
  });
});
