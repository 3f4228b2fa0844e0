import {
  coreToNode,
  InMemoryTransport,
  nodeToCore,
  type ProtocolError,
  RpcPeer,
  type ToolDescriptor,
} from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { helloParams, waitFor } from "../testing/test-node.ts";
import { NodeHub, type NodeHubOptions } from "./node-hub.ts";

/**
 * Issue 21.7: 40 distinct 3.4 MB tool lists sent with notifications/tools/list_changed took the
 * Core from 305 to 639 MB RSS, kept after the Node left: the hub shared up to 1,000 lists keyed by
 * their full JSON, and every notification was applied (a database write). A Node spoken by hand.
 */

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A list of `count` tools whose schemas together are about `bytes` of JSON, distinct by `tag`. */
function bigList(tag: string, bytes: number, count = 20): ToolDescriptor[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `tool_${i}`,
    description: `${tag} ${"d".repeat(Math.floor(bytes / count) - 40)}`,
    inputSchema: { type: "object" },
    source: "mcp:big",
  }));
}

async function connect(hub: NodeHub, nodeId: string, tools: ToolDescriptor[] = []) {
  const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
  hub.accept(coreSide, { nodeId, name: nodeId });
  const peer = new RpcPeer(nodeSide, { incoming: coreToNode, outgoing: nodeToCore });
  const hello = await peer.request("fabricore/hello", helloParams({ tools }));
  return { peer, hello };
}

function hub(options: Partial<NodeHubOptions> = {}) {
  const changes: Array<{ nodeId: string; first: string | undefined }> = [];
  const h = new NodeHub({
    authenticate: async () => null,
    desiredMcpServers: async () => [],
    onToolsChanged: (nodeId, tools) => changes.push({ nodeId, first: tools[0]?.description.split(" ")[0] }),
    ...options,
  });
  cleanups.push(() => h.close());
  return { hub: h, changes };
}

describe("tool lists a Node announces (issue 21.7)", () => {
  it("keeps only the lists connected Nodes use: 40 distinct lists leave one behind, none after the Node left", async () => {
    const { hub: h } = hub({ toolsChangedIntervalMs: 0 });
    const { peer } = await connect(h, "n1", bigList("v0", 64 * 1024));
    for (let i = 1; i <= 40; i++) {
      await peer.notify("notifications/tools/list_changed", { tools: bigList(`v${i}`, 64 * 1024) });
    }
    await waitFor(() => h.get("n1")?.tools[0]?.description.startsWith("v40 ") === true, 5_000, "last list applied");
    expect(h.toolLists.stats().lists).toBe(1);
    expect(h.toolLists.stats().bytes).toBeLessThan(70 * 1024);

    await peer.close(1000, "bye");
    await waitFor(() => !h.isOnline("n1"), 2_000, "offline");
    expect(h.toolLists.stats()).toEqual({ lists: 0, bytes: 0 });
  });

  it("Nodes with the same list share one copy, keyed by hash, released by each", async () => {
    const { hub: h } = hub();
    const same = bigList("same", 8 * 1024);
    const a = await connect(h, "a", same);
    const b = await connect(h, "b", structuredClone(same));
    expect(h.get("a")?.tools).toBe(h.get("b")?.tools);
    expect(h.toolLists.stats().lists).toBe(1);
    await a.peer.close(1000, "bye");
    await waitFor(() => !h.isOnline("a"), 2_000, "a offline");
    expect(h.toolLists.stats().lists).toBe(1);
    await b.peer.close(1000, "bye");
    await waitFor(() => !h.isOnline("b"), 2_000, "b offline");
    expect(h.toolLists.stats().lists).toBe(0);
  });

  it("refuses a hello whose list is over the cap, and ignores a later list over it", async () => {
    const { hub: h, changes } = hub({ maxToolListBytes: 32 * 1024, toolsChangedIntervalMs: 0 });
    const error = await connect(h, "huge", bigList("huge", 64 * 1024)).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("invalid_params");
    expect((error as ProtocolError).message).toMatch(/accepts at most 32768.*FABRICORE_NODE_TOOLS_MAX_BYTES/);
    expect(h.isOnline("huge")).toBe(false);

    const { peer } = await connect(h, "ok", bigList("small", 8 * 1024));
    await peer.notify("notifications/tools/list_changed", { tools: bigList("toolarge", 64 * 1024) });
    await peer.notify("notifications/tools/list_changed", { tools: bigList("fine", 8 * 1024) });
    await waitFor(() => changes.length === 1, 2_000, "the fine list");
    expect(changes).toEqual([{ nodeId: "ok", first: "fine" }]);
    expect(h.get("ok")?.tools[0]?.description.startsWith("fine ")).toBe(true);
  });

  it("applies at most one list per interval: a burst of 200 costs two updates, the last one wins", async () => {
    const { hub: h, changes } = hub({ toolsChangedIntervalMs: 300 });
    const { peer } = await connect(h, "burst", bigList("start", 2 * 1024));
    for (let i = 1; i <= 200; i++) {
      await peer.notify("notifications/tools/list_changed", { tools: bigList(`b${i}`, 2 * 1024) });
    }
    await waitFor(() => changes.at(-1)?.first === "b200", 3_000, "the last list");
    expect(changes.map((c) => c.first)).toEqual(["b1", "b200"]);
    expect(h.toolLists.stats().lists).toBe(1);
  });
});
