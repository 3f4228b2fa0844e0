import { InMemoryTransport, type Transport } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { failoverConnect } from "./failover-connect.ts";

function dialer(up: Set<string>) {
  const dialled: string[] = [];
  const dial = async (url: string): Promise<Transport> => {
    dialled.push(url);
    if (!up.has(url)) throw new Error(`refused: ${url}`);
    return InMemoryTransport.createLinkedPair()[0];
  };
  return { dial, dialled };
}

describe("failoverConnect", () => {
  it("stays on the replica that answered and moves on at once when it fails", async () => {
    const up = new Set(["ws://a", "ws://b"]);
    const { dial, dialled } = dialer(up);
    const failovers: string[] = [];
    const connect = failoverConnect({ urls: ["ws://a", "ws://b"], dial, onFailover: (url) => failovers.push(url) });
    const signal = new AbortController().signal;
    await connect(signal);
    await connect(signal);
    expect(dialled).toEqual(["ws://a", "ws://a"]);
    up.delete("ws://a");
    await connect(signal);
    expect(dialled.slice(2)).toEqual(["ws://a", "ws://b"]);
    expect(failovers).toEqual(["ws://a"]);
    // b keeps answering: the Node does not go back to a first.
    up.add("ws://a");
    await connect(signal);
    expect(dialled.slice(4)).toEqual(["ws://b"]);
  });

  it("fails with the last error only when every URL failed, then starts elsewhere", async () => {
    const { dial, dialled } = dialer(new Set());
    const connect = failoverConnect({ urls: ["ws://a", "ws://b", "ws://c"], dial });
    const signal = new AbortController().signal;
    await expect(connect(signal)).rejects.toThrow("refused: ws://c");
    expect(dialled).toEqual(["ws://a", "ws://b", "ws://c"]);
    await expect(connect(signal)).rejects.toThrow();
    expect(dialled.slice(3)).toEqual(["ws://b", "ws://c", "ws://a"]);
  });

  it("stops trying the others when stopped", async () => {
    const controller = new AbortController();
    const dialled: string[] = [];
    const connect = failoverConnect({
      urls: ["ws://a", "ws://b"],
      dial: async (url) => {
        dialled.push(url);
        controller.abort();
        throw new Error("aborted");
      },
    });
    await expect(connect(controller.signal)).rejects.toThrow("aborted");
    expect(dialled).toEqual(["ws://a"]);
  });
});
