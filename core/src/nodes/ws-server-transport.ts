import {
  BINARY_FRAME_ERROR,
  type CloseInfo,
  decodeFrame,
  type JsonRpcMessage,
  NodeCloseCode,
  type Transport,
  type TransportLiveness,
} from "@fabricore/protocol";
import { WebSocket } from "ws";

export interface WsServerTransportOptions {
  /** More invalid frames than this within `invalidWindowMs` closes the socket (1007): a peer that only
   * sends garbage is broken or hostile, and answering each frame would let it keep the Core busy. */
  maxInvalidFrames?: number;
  invalidWindowMs?: number;
  /** How long a local close waits for the Node's close frame before dropping the TCP connection. */
  closeTimeoutMs?: number;
  /** The clock of `lastActivityAt` (the hub's, so that tests with a fake clock agree). */
  now?: () => number;
}

const DEFAULTS: WsServerTransportOptions = {};

export { NodeCloseCode };

/**
 * A `Transport` over the server side of a `ws` WebSocket. Frames are decoded and validated here
 * (protocol's `decodeFrame`); a bad one goes to `oninvalid`, which the RpcPeer answers.
 * Oversized frames never get here: `ws` closes with 1009 itself (maxPayload is set on the server).
 */
export class WsServerTransport implements Transport, TransportLiveness {
  onmessage?: (message: JsonRpcMessage) => void;
  oninvalid?: (error: string, id: string | number | null) => void;
  onclose?: (info: CloseInfo) => void;
  /** When the Node last showed any sign of life, a frame or a pong: the hub's liveness clock. A field
   * rather than a callback, so that 10,000 connections do not each carry one more closure. */
  lastActivityAt: number;
  private readonly ws: WebSocket;
  /** The TCP socket under the WebSocket, when the hub has it: its byte counter is checked by the sweep. */
  private readonly socket: { readonly bytesRead: number } | undefined;
  private bytesSeen = 0;
  private closed = false;
  private invalidCount = 0;
  private invalidWindowStart: number;
  /** Shared by every transport of a hub, not copied into each. */
  private readonly options: WsServerTransportOptions;

  constructor(ws: WebSocket, options: WsServerTransportOptions = DEFAULTS, socket?: { readonly bytesRead: number }) {
    this.ws = ws;
    this.socket = socket;
    this.bytesSeen = socket?.bytesRead ?? 0;
    this.options = options;
    this.lastActivityAt = this.now();
    this.invalidWindowStart = this.lastActivityAt;
    // One set of listener functions for every socket (they find their transport through the socket),
    // the way `ws` itself wires its sockets: no closures per connection.
    (ws as SocketWithTransport)[kTransport] = this;
    ws.on("message", onWsMessage);
    ws.on("pong", onWsPong);
    // ws reports protocol violations and oversized frames as 'error' and then closes the socket
    // (1002 / 1009); 'close' below is what matters, but an unhandled 'error' would crash the Core.
    ws.on("error", onWsError);
    ws.on("close", onWsClose);
  }

  /** @internal A frame from the socket. */
  receive(data: WebSocket.RawData, isBinary: boolean): void {
    this.lastActivityAt = this.now();
    if (isBinary) {
      this.invalid(BINARY_FRAME_ERROR, null);
      return;
    }
    const decoded = decodeFrame(data.toString());
    if (decoded.ok) this.onmessage?.(decoded.message);
    else this.invalid(decoded.error, decoded.id);
  }

  /** @internal A pong, or any other sign of life below the message layer. */
  touch(): void {
    this.lastActivityAt = this.now();
  }

  /**
   * Called by the hub's sweep once per heartbeat interval. A large frame crawling over a slow link
   * delivers no message for as long as it takes, and the Node's heartbeats queue behind it in the same
   * TCP stream; its bytes are still arriving, which is life. New bytes since the previous sweep count
   * as activity at that previous sweep (`since`): never later than the truth, and no work per chunk.
   */
  noteBytes(since: number): void {
    const read = this.socket?.bytesRead;
    if (read === undefined || read === this.bytesSeen) return;
    this.bytesSeen = read;
    if (since > this.lastActivityAt) this.lastActivityAt = since;
  }

  /** The transport is its own liveness (a getter on the prototype: no extra object per connection). */
  get liveness(): TransportLiveness {
    return this;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error("connection is closed"));
    return new Promise((resolve, reject) => {
      this.ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Closes at once as far as the hub is concerned (onclose fires now); the socket itself gets a close
   * frame and is dropped if the Node does not answer it in time. */
  async close(code: number = NodeCloseCode.normal, reason = ""): Promise<void> {
    if (this.closed) return;
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
      setTimeout(() => this.ws.terminate(), this.options.closeTimeoutMs ?? 1_000).unref();
    }
    this.closedBy({ code, reason });
  }

  /** Drops the TCP connection without a close handshake (a peer that stopped answering). */
  terminate(code: number, reason: string): void {
    this.ws.terminate();
    this.closedBy({ code, reason });
  }

  ping(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  private invalid(error: string, id: string | number | null): void {
    const now = this.now();
    if (now - this.invalidWindowStart > (this.options.invalidWindowMs ?? 10_000)) {
      this.invalidWindowStart = now;
      this.invalidCount = 0;
    }
    this.invalidCount += 1;
    if (this.invalidCount > (this.options.maxInvalidFrames ?? 20)) {
      void this.close(NodeCloseCode.invalidFrames, "too many invalid frames");
      return;
    }
    this.oninvalid?.(error, id);
  }

  /** @internal */
  closedBy(info: CloseInfo): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.(info);
  }
}

const kTransport = Symbol("fabricore.transport");
type SocketWithTransport = WebSocket & { [kTransport]: WsServerTransport };

function onWsMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  (this as SocketWithTransport)[kTransport].receive(data, isBinary);
}

function onWsPong(this: WebSocket): void {
  (this as SocketWithTransport)[kTransport].touch();
}

function onWsError(): void {}

function onWsClose(this: WebSocket, code: number, reason: Buffer): void {
  (this as SocketWithTransport)[kTransport].closedBy({ code, reason: reason.toString() });
}
