import { coreToNode, InMemoryTransport, type NodeUpdateResultParams, nodeToCore, RpcPeer } from "@fabricore/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { helloParams, waitFor } from "../testing/test-node.ts";
import { NodeHub, type NodeHubOptions } from "./node-hub.ts";

const hubs: NodeHub[] = [];
afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.close();
});

/** A hub and a hand-made Node peer on an in-memory pair, not yet said hello. */
function connect(options: Partial<NodeHubOptions>, nodeId = "n1") {
  const hub = new NodeHub({ authenticate: async () => null, desiredMcpServers: async () => [], ...options });
  hubs.push(hub);
  const [coreSide, nodeSide] = InMemoryTransport.createLinkedPair();
  hub.accept(coreSide, { nodeId, name: nodeId });
  const node = new RpcPeer(nodeSide, { incoming: coreToNode, outgoing: nodeToCore });
  return { hub, node };
}

const result: NodeUpdateResultParams = {
  outcome: "refused",
  from: "1.0.0",
  to: "1.1.0",
  code: "bad_signature",
  at: "2026-12-07T12:00:00Z",
};

describe("NodeHub and Node self-update (node-hub-updates.ts)", () => {
  it("a hello answer carries the served version and key, unless the rollout holds this Node back", async () => {
    const offered = new Set(["n1"]);
    const a = connect({
      servedNodeVersion: "1.1.0",
      updateKey: "k".repeat(43),
      offersNodeVersion: (id) => offered.has(id),
    });
    const answer = await a.node.request("fabricore/hello", helloParams());
    expect(answer.nodeVersion).toBe("1.1.0");
    expect(answer.updateKey).toBe("k".repeat(43));
    const b = connect({ servedNodeVersion: "1.1.0", offersNodeVersion: (id) => offered.has(id) }, "n2");
    const held = await b.node.request("fabricore/hello", helloParams());
    expect(held.nodeVersion).toBeUndefined();
    expect(held.updateKey).toBeUndefined();
  });

  it("offers a version to an online Node only, and passes its update-result on once it said hello", async () => {
    const reports: Array<[string, NodeUpdateResultParams]> = [];
    const { hub, node } = connect({ onUpdateResult: (id, r) => reports.push([id, r]) });
    const offers: string[] = [];
    node.setNotificationHandler("fabricore/node/update", ({ version }) => void offers.push(version));
    // Before hello the connection is not a Node yet: no offer, and its report is dropped.
    expect(hub.offerUpdate("n1", "1.1.0")).toBe(false);
    await node.notify("fabricore/node/update-result", result);
    await node.request("fabricore/hello", helloParams());
    expect(reports).toEqual([]);
    expect(hub.offerUpdate("n1", "1.1.0")).toBe(true);
    expect(hub.offerUpdate("nobody", "1.1.0")).toBe(false);
    await waitFor(() => offers.length === 1, 2_000, "the offer");
    expect(offers).toEqual(["1.1.0"]);
    await node.notify("fabricore/node/update-result", result);
    await waitFor(() => reports.length === 1, 2_000, "the report");
    expect(reports).toEqual([["n1", result]]);
  });
});
