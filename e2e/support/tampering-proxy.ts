import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { type CoreHandle, freePort } from "./harness.ts";

/** Lets a test stop the tampering (the path is repaired) and cut the Nodes' WebSockets (they dial
 * again and say hello again, without restarting). */
export class TamperSwitch {
  tamper = true;
  readonly sockets = new Set<Duplex>();
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** Proxies the Core (HTTP and the WebSocket upgrade) but serves every Node executable with one byte
 * flipped and X-FabriCore-SHA256 recomputed to match, as a compromised mirror that knows the scheme
 * would: only the signature can tell. */
export async function tamperingProxy(
  target: CoreHandle,
  servers: Server[],
  control: TamperSwitch = new TamperSwitch(),
): Promise<string> {
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers["accept-encoding"];
    const upstream = httpRequest(
      { host: "127.0.0.1", port: target.port, method: req.method, path: req.url, headers },
      (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const body = Buffer.concat(chunks);
          const outHeaders = { ...answer.headers };
          if (control.tamper && req.url?.startsWith("/api/nodes/binary/") && body.length > 4096) {
            body[4096] = (body[4096] ?? 0) ^ 0x01;
            outHeaders["x-fabricore-sha256"] = createHash("sha256").update(body).digest("hex");
            outHeaders["content-length"] = String(body.length);
            delete outHeaders.etag;
          }
          res.writeHead(answer.statusCode ?? 502, outHeaders);
          res.end(body);
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("upgrade", (req, socket, head) => {
    control.sockets.add(socket);
    const upstream = connect(target.port, "127.0.0.1", () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  // The caller closes it (after its Nodes are gone).
  servers.push(server);
  return `http://127.0.0.1:${port}`;
}
