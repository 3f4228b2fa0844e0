import type { JsonRpcMessage } from "./jsonrpc.ts";

/** Why a transport closed. WebSocket close codes are used on both kinds of transport. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** How a socket-backed transport tells its owner that the peer is alive, for heartbeat sweeps. The
 * in-memory pair has none: its owner counts delivered messages instead. */
export interface TransportLiveness {
  /** When the peer last showed any sign of life: a frame, a ping or pong, or bytes (noteBytes). */
  readonly lastActivityAt: number;
  /** Bytes that arrived since the previous check count as life at `since` (a large frame crawling
   * over a slow link delivers no message for as long as it takes). */
  noteBytes(since: number): void;
  /** A protocol-level ping that the peer answers below the message layer. */
  ping?(): void;
  /** Drops the connection without a close handshake (a silent peer would not answer one). */
  terminate?(code: number, reason: string): void;
}

/**
 * What the RPC peer needs from a connection. The WebSocket transports (Core: core/src/nodes,
 * Node: node/src/comms) decode and validate frames before `onmessage`; the in-memory pair below
 * lets most Core<->Node tests run without a socket.
 */
export interface Transport {
  send(message: JsonRpcMessage): Promise<void>;
  close(code?: number, reason?: string): Promise<void>;
  onmessage?: (message: JsonRpcMessage) => void;
  /** A frame that could not be decoded or validated; the peer answers it with an error. */
  oninvalid?: (error: string, id: string | number | null) => void;
  onclose?: (info: CloseInfo) => void;
  /** Present on socket transports; see TransportLiveness. */
  readonly liveness?: TransportLiveness;
}

/** Two linked in-memory transports. Messages are structured-cloned and delivered on a later
 * microtask, as a socket would, so tests see the same ordering and isolation. */
export class InMemoryTransport implements Transport {
  onmessage?: (message: JsonRpcMessage) => void;
  oninvalid?: (error: string, id: string | number | null) => void;
  onclose?: (info: CloseInfo) => void;
  private peer: InMemoryTransport | undefined;
  private closed = false;

  static createLinkedPair(): [InMemoryTransport, InMemoryTransport] {
    const a = new InMemoryTransport();
    const b = new InMemoryTransport();
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.closed) throw new Error("transport closed");
    const peer = this.peer;
    const copy = structuredClone(message);
    queueMicrotask(() => {
      if (peer && !peer.closed) peer.onmessage?.(copy);
    });
  }

  async close(code = 1000, reason = ""): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const peer = this.peer;
    this.onclose?.({ code, reason });
    if (peer && !peer.closed) await peer.close(code, reason);
  }
}
