import { type CloseInfo, InMemoryTransport, type TransportLiveness } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { type Connection, type CorePeer, lastSeen, newConnection, sweepConnections } from "./node-hub-connection.ts";
import { NodeCloseCode } from "./ws-server-transport.ts";

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A connection whose peer only records how it was closed; `liveness` stands in for a socket's. */
function conn(connectedAt: number, liveness?: TransportLiveness): { conn: Connection; closes: CloseInfo[] } {
  const [transport] = InMemoryTransport.createLinkedPair();
  const closes: CloseInfo[] = [];
  if (liveness) Object.defineProperty(transport, "liveness", { value: liveness });
  const c = newConnection(transport, { nodeId: "n1", name: "one" }, connectedAt);
  c.peer = {
    close: async (code: number, reason: string) => {
      closes.push({ code, reason });
    },
  } as unknown as CorePeer;
  return { conn: c, closes };
}

describe("sweepConnections (three heartbeat intervals of silence)", () => {
  it("closes a connection that never said hello, and one that went silent; leaves a live one", () => {
    const noHello = conn(0);
    const silent = conn(0);
    silent.conn.online = true;
    const live = conn(0);
    live.conn.online = true;
    live.conn.lastSeenAt = 2_500;
    sweepConnections([noHello.conn, silent.conn, live.conn], 2_000, 3_001, 1_000, quiet);
    expect(noHello.closes).toEqual([{ code: NodeCloseCode.helloTimeout, reason: "no hello" }]);
    expect(silent.closes).toEqual([{ code: NodeCloseCode.heartbeatTimeout, reason: "heartbeat timeout" }]);
    expect(live.closes).toEqual([]);
  });

  it("a socket's own clock counts: bytes noted since the last sweep keep it, a silent one is terminated", () => {
    const pings: string[] = [];
    const terminated: CloseInfo[] = [];
    let lastActivityAt = 0;
    const socket: TransportLiveness = {
      get lastActivityAt() {
        return lastActivityAt;
      },
      noteBytes(since) {
        lastActivityAt = since; // bytes arrived while a large frame crawled in
      },
      ping: () => pings.push("ping"),
      terminate: (code, reason) => terminated.push({ code, reason }),
    };
    const crawling = conn(0, socket);
    crawling.conn.online = true;
    sweepConnections([crawling.conn], 2_500, 3_001, 1_000, quiet);
    expect(lastSeen(crawling.conn)).toBe(2_500);
    expect(pings).toEqual(["ping"]);
    expect(terminated).toEqual([]);

    socket.noteBytes = () => {}; // nothing more arrives
    sweepConnections([crawling.conn], 3_001, 6_000, 1_000, quiet);
    expect(terminated).toEqual([{ code: NodeCloseCode.heartbeatTimeout, reason: "heartbeat timeout" }]);
    expect(crawling.closes).toEqual([]);
  });
});
