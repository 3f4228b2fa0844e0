import http from "node:http";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

/*
 * HTTP to the Docker Engine API, over its unix socket or plain TCP: requests with JSON in and out,
 * a response body as a stream (a pull's progress), and a hijacked connection (attach). This is all
 * the runtime needs of a Docker client. dockerode brought docker-modem, ssh2 and gRPC/protobuf (for
 * BuildKit) with it, and loading them cost the Node executable ~140 ms of start and ~38 MB of RSS.
 */

/** Where the daemon listens: a unix socket, or host and port over plain HTTP (dockerode's option names). */
export type EngineEndpoint = { socketPath: string } | { host: string; port: number; protocol: "http" };

/**
 * The daemon answered with an error status. Shaped like dockerode's errors (`statusCode`, `json`) so
 * that errors.ts reads the daemon's own message either way.
 */
export class EngineError extends Error {
  readonly statusCode: number;
  /** The parsed body (`{message}` from the daemon), or its text when it is not JSON. */
  readonly json: unknown;
  constructor(statusCode: number, json: unknown) {
    const said =
      json && typeof json === "object" && typeof (json as { message?: unknown }).message === "string"
        ? (json as { message: string }).message
        : String(json).trim() || "no message";
    super(`(HTTP code ${statusCode}) ${said}`);
    this.name = "EngineError";
    this.statusCode = statusCode;
    this.json = json;
  }
}

export interface EngineRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal | undefined;
}

function requestOptions(endpoint: EngineEndpoint, req: EngineRequest, body: string | undefined): http.RequestOptions {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(req.query ?? {})) if (value !== undefined) query.set(key, String(value));
  const search = query.size > 0 ? `?${query}` : "";
  return {
    ...("socketPath" in endpoint ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port }),
    method: req.method,
    path: `${req.path}${search}`,
    headers:
      body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    ...(req.signal && { signal: req.signal }),
  };
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

async function readText(res: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Opens a request and resolves with the response once its status is known; an error status rejects. */
function open(endpoint: EngineEndpoint, req: EngineRequest): Promise<http.IncomingMessage> {
  const body = req.body === undefined ? undefined : JSON.stringify(req.body);
  return new Promise((resolve, reject) => {
    const request = http.request(requestOptions(endpoint, req, body), (res) => {
      const status = res.statusCode ?? 0;
      if (status < 300) return resolve(res);
      readText(res).then((text) => reject(new EngineError(status, parseBody(text))), reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** A request whose answer is JSON (or nothing: 204). */
export async function engineJson<T>(endpoint: EngineEndpoint, req: EngineRequest): Promise<T> {
  const text = await readText(await open(endpoint, req));
  return (text === "" ? undefined : parseBody(text)) as T;
}

/** A request whose answer is a stream to read as it comes (a pull's progress, one JSON object per line). */
export function engineStream(endpoint: EngineEndpoint, req: EngineRequest): Promise<http.IncomingMessage> {
  return open(endpoint, req);
}

/**
 * Calls `onEvent` for each JSON line of a progress stream and resolves when the stream ends, with
 * every event (the daemon reports a failed pull as an `{error}` event inside a 200 answer).
 */
export async function followJsonLines(stream: Readable, onEvent?: (event: unknown) => void): Promise<unknown[]> {
  const events: unknown[] = [];
  let pending = "";
  const take = (line: string) => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    const event = parseBody(trimmed);
    events.push(event);
    onEvent?.(event);
  };
  for await (const chunk of stream) {
    pending += (chunk as Buffer).toString("utf8");
    for (let at = pending.indexOf("\n"); at >= 0; at = pending.indexOf("\n")) {
      take(pending.slice(0, at));
      pending = pending.slice(at + 1);
    }
  }
  take(pending);
  return events;
}

/**
 * A hijacked connection: the daemon answers `101 UPGRADED` and the socket then carries the
 * container's stdio both ways (attach with stdin). Nothing is written in the request's body: after
 * the upgrade the daemon reads every byte on the connection as the container's stdin.
 */
export function engineHijack(endpoint: EngineEndpoint, req: EngineRequest): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const options = requestOptions(endpoint, req, undefined);
    options.headers = { ...options.headers, connection: "Upgrade", upgrade: "tcp" };
    const request = http.request(options);
    request.on("upgrade", (_res, socket: Socket, head: Buffer) => {
      if (head.length > 0) socket.unshift(head);
      resolve(socket);
    });
    request.on("response", (res) => {
      const status = res.statusCode ?? 0;
      readText(res).then(
        (text) =>
          reject(new EngineError(status, status < 300 ? `expected an upgrade, got ${status}` : parseBody(text))),
        reject,
      );
    });
    request.on("error", reject);
    request.end();
  });
}

/**
 * Splits the daemon's multiplexed attach stream (`Tty: false`): each frame is an 8-byte header,
 * [stream (1 stdout, 2 stderr), 0, 0, 0, size as uint32 big-endian], then that many bytes. Anything
 * not marked stdout goes to stderr, as dockerode did: only stdout is ever parsed as JSON-RPC.
 */
export function demuxStream(source: Readable, stdout: Writable, stderr: Writable): void {
  let buffer: Buffer = Buffer.alloc(0);
  source.on("data", (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    while (buffer.length >= 8) {
      const kind = buffer[0];
      const size = buffer.readUInt32BE(4);
      if (buffer.length < 8 + size) return;
      const payload = buffer.subarray(8, 8 + size);
      buffer = buffer.subarray(8 + size);
      (kind === 1 ? stdout : stderr).write(payload);
    }
  });
}
