import { chmod, rm } from "node:fs/promises";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { EgressPolicy } from "./egress-policy.ts";

/** One connection the proxy let through or refused, for the Node's log and the server's status. */
export interface EgressEvent {
  at: string;
  allowed: boolean;
  target: string;
  method: string;
  reason?: string | undefined;
}

export interface EgressCounters {
  allowed: number;
  refused: number;
  lastRefused?: { at: string; target: string; reason: string } | undefined;
}

const HOP_HEADERS = new Set([
  "proxy-authorization",
  "proxy-connection",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
]);

/**
 * The egress proxy of one managed server: an HTTP proxy (CONNECT for TLS, absolute-URI requests for
 * plain HTTP) listening on a unix socket in the Node's data directory — never on a TCP port of the
 * host. The container reaches it only through the forwarder on its own loopback (egress-forwarder.ts).
 * Every connection is decided by the server's EgressPolicy and counted.
 */
export class EgressProxy {
  readonly socketPath: string;
  readonly counters: EgressCounters = { allowed: 0, refused: 0 };
  private readonly policy: EgressPolicy;
  private readonly onEvent: (event: EgressEvent) => void;
  private readonly server: Server;
  private readonly open = new Set<Duplex>();

  constructor(options: { socketPath: string; policy: EgressPolicy; onEvent?: (event: EgressEvent) => void }) {
    this.socketPath = options.socketPath;
    this.policy = options.policy;
    this.onEvent = options.onEvent ?? (() => {});
    this.server = createServer((req, res) => void this.forward(req, res));
    this.server.on(
      "connect",
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head),
    );
    this.server.on("connection", (socket: Socket) => {
      this.open.add(socket);
      socket.once("close", () => this.open.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await rm(this.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.socketPath, () => resolve());
    });
    // Only the Node (and root) may talk to it; the container reaches it through its forwarder.
    await chmod(this.socketPath, 0o600);
  }

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.socketPath, { force: true });
  }

  private record(allowed: boolean, method: string, target: string, reason?: string): void {
    const at = new Date().toISOString();
    if (allowed) this.counters.allowed += 1;
    else {
      this.counters.refused += 1;
      this.counters.lastRefused = { at, target, reason: reason ?? "refused" };
    }
    this.onEvent({ at, allowed, target, method, reason });
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.open.add(client);
    client.on("error", () => {});
    const target = req.url ?? "";
    const match = target.match(/^(\[[^\]]+\]|[^:]+):(\d{1,5})$/);
    const decision = match ? await this.policy.decide(match[1]!, Number(match[2])) : undefined;
    if (!decision?.allowed) {
      const reason = decision ? decision.reason : `${JSON.stringify(target)} is not host:port`;
      this.record(false, "CONNECT", target, reason);
      client.end(
        `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\negress refused: ${reason}\n`,
      );
      return;
    }
    const upstream = connect({ host: decision.address, port: Number(match![2]), family: decision.family });
    this.open.add(upstream);
    upstream.once("close", () => this.open.delete(upstream));
    upstream.once("connect", () => {
      this.record(true, "CONNECT", target);
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      this.record(false, "CONNECT", target, `connect failed: ${error.code ?? error.message}`);
      client.end(
        `HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\n\r\negress connect failed: ${error.code ?? error.message}\n`,
      );
    });
    client.once("close", () => upstream.destroy());
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      url = new URL("invalid:");
    }
    const method = req.method ?? "GET";
    if (url.protocol !== "http:") {
      const reason = "only absolute http:// requests and CONNECT are proxied";
      this.record(false, method, req.url ?? "", reason);
      res.writeHead(400, { "content-type": "text/plain" }).end(`egress refused: ${reason}\n`);
      return;
    }
    const port = Number(url.port || 80);
    const target = `${url.hostname}:${port}`;
    const decision = await this.policy.decide(url.hostname, port);
    if (!decision.allowed) {
      this.record(false, method, target, decision.reason);
      res.writeHead(403, { "content-type": "text/plain" }).end(`egress refused: ${decision.reason}\n`);
      return;
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_HEADERS.has(name)));
    // To the address the policy checked, never to a name resolved a second time.
    const upstream = httpRequest({
      host: decision.address,
      family: decision.family,
      port,
      method,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, host: url.host },
      setHost: false,
    });
    upstream.once("response", (answer) => {
      this.record(true, method, target);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.once("error", (error: NodeJS.ErrnoException) => {
      this.record(false, method, target, `connect failed: ${error.code ?? error.message}`);
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`egress connect failed: ${error.code ?? error.message}\n`);
    });
    req.pipe(upstream);
  }
}
