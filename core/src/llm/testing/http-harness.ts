import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { RecordedRequest, Script, Turn } from "./script.ts";

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  /** Every request received, in order, including model-list calls. */
  requests: RecordedRequest[];
  /** Only the chat requests (the ones the script answered). */
  chatRequests(): RecordedRequest[];
  setScript(script: Script): void;
  /** Resolves when the n-th chat request (1-based) has arrived. */
  waitForChatRequest(n: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  record: RecordedRequest,
  nextTurn: () => Promise<Turn>,
  closed: AbortSignal,
) => Promise<void>;

/** The HTTP plumbing both scripted servers share: a real server on loopback, a random port,
 * request recording, and the script cursor. */
export async function startHarness(options: {
  script: Script;
  isChat: (path: string) => boolean;
  handle: Handler;
}): Promise<ScriptedServer> {
  let script = options.script;
  let cursor = 0;
  const requests: RecordedRequest[] = [];
  const waiters: Array<{ n: number; resolve: (r: RecordedRequest) => void }> = [];
  const chatRequests = () => requests.filter((r) => options.isChat(r.path));
  const sockets = new Set<import("node:net").Socket>();

  const server: Server = createServer(async (req, res) => {
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const record: RecordedRequest = {
      method: req.method ?? "GET",
      path: (req.url ?? "/").split("?")[0]!,
      headers: { ...req.headers },
      body,
      aborted: false,
      finished: false,
    };
    requests.push(record);
    const closed = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) record.aborted = true;
      record.finished = true;
      closed.abort();
    });
    if (options.isChat(record.path)) {
      const n = chatRequests().length;
      for (const w of waiters.filter((w) => w.n === n)) w.resolve(record);
    }
    const nextTurn = async (): Promise<Turn> => {
      const index = cursor++;
      if (typeof script === "function") return script(record, index);
      const t = script[index];
      if (!t) return { type: "error", status: 500, message: `scripted server: the script has no turn ${index + 1}` };
      return t;
    };
    try {
      await options.handle(req, res, record, nextTurn, closed.signal);
    } catch (err) {
      if (!res.headersSent) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `scripted server failed: ${String(err)}` }));
      } else res.destroy();
    }
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    chatRequests,
    setScript(next) {
      script = next;
      cursor = 0;
    },
    waitForChatRequest(n) {
      const existing = chatRequests()[n - 1];
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    close() {
      // Hanging turns keep sockets open; a test server must still close promptly.
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    req.on("error", reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Waits until `closed` fires (the client went away) — what a hanging model looks like. */
export function untilClosed(closed: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (closed.aborted) resolve();
    else closed.addEventListener("abort", () => resolve(), { once: true });
  });
}
