import {
  BINARY_FRAME_ERROR,
  type CloseInfo,
  decodeFrame,
  type JsonRpcMessage,
  MAX_FRAME_BYTES,
  NodeCloseCode,
  type Transport,
  type TransportLiveness,
} from "@fabricore/protocol";
// npm's ws under another name, so that the compiled binary does not get Bun's stand-in (ws-npm.d.ts).
import WebSocket from "ws-npm";

/** The Core answered the upgrade with an HTTP status instead of switching protocols (401: bad token). */
export class UpgradeRejectedError extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`the Core refused the connection with HTTP ${status}`);
    this.name = "UpgradeRejectedError";
    this.status = status;
  }
}

export interface WsConnectOptions {
  /** ws:// or wss:// URL of the Core's Node endpoint. */
  url: string;
  /** A bearer token (hub tests); the Node itself sends its signed `headers` instead. */
  token?: string | undefined;
  /** Extra upgrade headers: the Node's signed challenge (node/src/identity). */
  headers?: Record<string, string> | undefined;
  /** PEM of a private CA to verify the Core's certificate with (--ca); default roots otherwise. */
  ca?: string | undefined;
  handshakeTimeoutMs?: number;
  signal?: AbortSignal;
  userAgent?: string;
}

/** How long a local close waits for the Core's close frame before dropping the TCP connection. */
const CLOSE_TIMEOUT_MS = 500;

/** A `Transport` over the client side of a `ws` WebSocket; frames are decoded and validated here. */
export class WsClientTransport implements Transport, TransportLiveness {
  onmessage?: (message: JsonRpcMessage) => void;
  oninvalid?: (error: string, id: string | number | null) => void;
  onclose?: (info: CloseInfo) => void;
  /** When the Core last showed signs of life (a frame or a ping); the connection manager's liveness check reads it. */
  lastActivityAt = Date.now();
  private readonly ws: WebSocket;
  private bytesSeen = 0;
  private closed = false;
  private readonly closedPromise: Promise<void>;

  constructor(ws: WebSocket) {
    this.ws = ws;
    let markClosed = () => {};
    this.closedPromise = new Promise((resolve) => {
      markClosed = resolve;
    });
    ws.on("message", (data, isBinary) => {
      this.lastActivityAt = Date.now();
      if (isBinary) {
        this.oninvalid?.(BINARY_FRAME_ERROR, null);
        return;
      }
      const decoded = decodeFrame(data.toString());
      if (decoded.ok) this.onmessage?.(decoded.message);
      else this.oninvalid?.(decoded.error, decoded.id);
    });
    ws.on("ping", () => {
      this.lastActivityAt = Date.now();
    });
    // 'close' always follows 'error'; the error itself has no one to go to.
    ws.on("error", () => {});
    ws.on("close", (code, reason) => {
      markClosed();
      if (this.closed) return;
      this.closed = true;
      this.onclose?.({ code, reason: reason.toString() });
    });
  }

  /** SHA-256 fingerprint (`AB:CD:…`) of the certificate the Core presented on this connection; undefined
   * on plain ws:// or when the runtime does not tell. The Node compares it with the pinned one. */
  get peerFingerprint(): string | undefined {
    const socket = (this.ws as unknown as { _socket?: { getPeerCertificate?: () => { fingerprint256?: unknown } } })
      ._socket;
    const fingerprint = socket?.getPeerCertificate?.()?.fingerprint256;
    return typeof fingerprint === "string" && fingerprint !== "" ? fingerprint : undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Called once per heartbeat interval. A large call crawling in over a slow link delivers no message
   * for as long as it takes, and the Core's pings wait behind it in the same TCP stream; its bytes are
   * still arriving, which is life. New bytes since the previous check count as a sign of life at that
   * check (`since`): never later than the truth. Needs the `ws` package's socket (see socketOf).
   */
  noteBytes(since: number): void {
    const read = socketOf(this.ws)?.bytesRead;
    if (read === undefined || read === this.bytesSeen) return;
    this.bytesSeen = read;
    if (since > this.lastActivityAt) this.lastActivityAt = since;
  }

  get liveness(): TransportLiveness {
    return this;
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.closed || this.ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error("connection is closed"));
    return new Promise((resolve, reject) => {
      this.ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve()));
    });
  }

  /** Sends a close frame and waits briefly for the Core's; drops the connection if it does not come. */
  async close(code: number = NodeCloseCode.normal, reason = ""): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code, reason);
    const timer = setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS);
    await this.closedPromise;
    clearTimeout(timer);
  }
}

/** The TCP socket under a `ws` WebSocket (its `_socket`, set once the upgrade is done). */
function socketOf(ws: WebSocket): { bytesRead: number } | undefined {
  const socket = (ws as unknown as { _socket?: { bytesRead?: unknown } })._socket;
  return typeof socket?.bytesRead === "number" ? (socket as { bytesRead: number }) : undefined;
}

function statusFromError(error: Error): number | undefined {
  // Runtimes without ws's 'unexpected-response' event (Bun's built-in ws) only say it in the message.
  const match = /Unexpected server response: (\d{3})|Expected 101 status code|status (\d{3})/.exec(error.message);
  const status = Number(match?.[1] ?? match?.[2]);
  return Number.isInteger(status) && status > 0 ? status : undefined;
}

/** Dials the Core. Resolves once the upgrade succeeded; rejects with `UpgradeRejectedError` on an HTTP answer. */
export function connectWebSocket(options: WsConnectOptions): Promise<WsClientTransport> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error("aborted"));
      return;
    }
    const ws = new WebSocket(options.url, {
      headers: {
        ...(options.token !== undefined && { Authorization: `Bearer ${options.token}` }),
        ...options.headers,
        ...(options.userAgent && { "User-Agent": options.userAgent }),
      },
      // Certificates are always verified; --ca adds a private CA.
      ...(options.ca !== undefined && { ca: options.ca }),
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      // Compression state costs memory per connection on the Core, which holds thousands of them.
      perMessageDeflate: false,
    });
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      options.signal?.removeEventListener("abort", onAbort);
      ws.terminate();
      reject(error);
    };
    const onAbort = () => fail(new Error("aborted"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    ws.once("unexpected-response", (request, response) => {
      response.resume();
      request.destroy();
      fail(new UpgradeRejectedError(response.statusCode ?? 0));
    });
    ws.once("error", (error) => {
      const status = statusFromError(error);
      fail(status ? new UpgradeRejectedError(status) : error);
    });
    ws.once("open", () => {
      if (done) return;
      done = true;
      options.signal?.removeEventListener("abort", onAbort);
      resolve(new WsClientTransport(ws));
    });
  });
}

/** http(s)://host:port[/prefix] → ws(s)://host:port[/prefix]/api/nodes/connect */
export function connectUrl(coreUrl: string, path: string): string {
  const url = new URL(coreUrl);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.pathname = url.pathname.replace(/\/+$/, "") + path;
  url.search = "";
  url.hash = "";
  return url.toString();
}
