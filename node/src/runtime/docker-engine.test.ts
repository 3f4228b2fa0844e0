import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDockerApi, splitImageRef } from "./docker-api.ts";
import { demuxStream, EngineError } from "./docker-engine.ts";
import { dockerMessage, isNotFound } from "./errors.ts";

/** One frame of the daemon's multiplexed attach stream. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("demuxStream", () => {
  it("splits stdout from stderr, across frames cut anywhere and several frames per chunk", () => {
    const bytes = Buffer.concat([frame(1, '{"a":1}\n'), frame(2, "log line\n"), frame(1, '{"b":2}\n')]);
    const source = new PassThrough();
    const out = new PassThrough();
    const err = new PassThrough();
    demuxStream(source, out, err);
    // Cut every 5 bytes: headers and payloads both arrive in pieces; later, whole frames arrive together.
    for (let i = 0; i < bytes.length; i += 5) source.write(bytes.subarray(i, i + 5));
    expect(out.read()?.toString()).toBe('{"a":1}\n{"b":2}\n');
    expect(err.read()?.toString()).toBe("log line\n");
    source.write(Buffer.concat([frame(2, "x"), frame(1, "y"), frame(1, "z")]));
    expect(out.read()?.toString()).toBe("yz");
    expect(err.read()?.toString()).toBe("x");
  });
});

describe("splitImageRef", () => {
  it("pulls `latest` for an untagged name (never every tag), and keeps registry ports and digests apart", () => {
    expect(splitImageRef("alpine")).toEqual({ fromImage: "alpine", tag: "latest" });
    expect(splitImageRef("mcp/filesystem:1.2")).toEqual({ fromImage: "mcp/filesystem", tag: "1.2" });
    expect(splitImageRef("localhost:5000/x/y")).toEqual({ fromImage: "localhost:5000/x/y", tag: "latest" });
    expect(splitImageRef("localhost:5000/x/y:2")).toEqual({ fromImage: "localhost:5000/x/y", tag: "2" });
    expect(splitImageRef("busybox@sha256:abc")).toEqual({ fromImage: "busybox", tag: "sha256:abc" });
  });
});

describe("DockerApi against a fake daemon on a unix socket", () => {
  let dir = "";
  let socketPath = "";
  let server: Server;
  const pulls: string[] = [];
  const upgraded: Socket[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "fabricore-engine-"));
    socketPath = join(dir, "docker.sock");
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://docker");
      if (req.method === "POST" && url.pathname === "/images/create") {
        pulls.push(url.search);
        res.writeHead(200, { "content-type": "application/json" });
        // Progress lines arrive cut anywhere; a failure is an event inside the 200 answer.
        res.write('{"status":"Pulling from library/x"}\n{"status":"Downl');
        if (url.searchParams.get("fromImage") === "broken") {
          res.end('oading"}\n{"errorDetail":{"message":"unauthorized"},"error":"unauthorized: no access"}\n');
        } else {
          res.end('oading"}\r\n{"status":"Digest: sha256:1"}');
        }
        return;
      }
      if (req.method === "POST" && url.pathname === "/containers/create") {
        let body = "";
        req.on("data", (chunk) => {
          body += chunk;
        });
        req.on("end", () => {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          res.writeHead(201, { "content-type": "application/json" });
          res.end(JSON.stringify({ Id: `${url.searchParams.get("name")}:${parsed.Image}:${"name" in parsed}` }));
        });
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ message: `No such container: ${url.pathname.split("/")[2]}` }));
    });
    // Attach: the daemon answers 101 and the socket then carries framed stdout/stderr, and raw stdin.
    server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
      upgraded.push(socket);
      expect(req.headers.upgrade).toBe("tcp");
      expect(new URL(req.url ?? "/", "http://docker").search).toBe("?stream=1&stdin=1&stdout=1&stderr=1");
      socket.write(
        "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
      );
      socket.write(frame(2, "server starting\n"));
      socket.on("data", (chunk: Buffer) => socket.write(frame(1, `echo ${chunk}`)));
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterAll(async () => {
    for (const socket of upgraded) socket.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("pulls with an explicit tag, following the progress stream to its end, and fails on an error event", async () => {
    const docker = createDockerApi(`unix://${socketPath}`);
    await docker.pullImage("example/ok");
    expect(pulls.at(-1)).toBe("?fromImage=example%2Fok&tag=latest");
    await expect(docker.pullImage("broken:3")).rejects.toThrow("unauthorized: no access");
  });

  it("creates with the name in the query only, and turns an error status into the daemon's message", async () => {
    const docker = createDockerApi(socketPath);
    const spec = { name: "fc-1", Image: "img" } as unknown as Parameters<typeof docker.createContainer>[0];
    expect(await docker.createContainer(spec)).toBe("fc-1:img:false");
    const error = await docker.startContainer("abc").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineError);
    expect(isNotFound(error)).toBe(true);
    expect(dockerMessage(error)).toBe("No such container: abc");
    expect(await docker.inspectContainer("abc")).toBeUndefined();
    await docker.removeContainer("abc"); // 404: already gone
  });

  it("attaches over a hijacked connection: stdin in, demultiplexed stdout and stderr out", async () => {
    const stdio = await createDockerApi(socketPath).attachContainer("c1");
    let stdout = "";
    let stderr = "";
    stdio.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    stdio.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    stdio.stdin.write("hello\n");
    const deadline = Date.now() + 5_000;
    while ((!stdout || !stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(stdout).toBe("echo hello\n");
    expect(stderr).toBe("server starting\n");
    const ended = new Promise((resolve) => stdio.stdout.on("end", resolve));
    stdio.stdout.resume();
    stdio.close();
    await ended;
  });
});
