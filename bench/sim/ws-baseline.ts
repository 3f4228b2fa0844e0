/**
 * The floor every FabriCore number is compared with: bare `ws`, no protocol. `server` mode is an echo
 * server (one WebSocketServer on a node:http server, the way the Core mounts its hub); `clients` mode
 * opens N idle connections to it. Both are driven over IPC:
 *   server:  ready {port}; {type:"memory"} → after a full GC; {type:"count"}
 *   clients: {type:"start", url, count, rampMs?} ; {type:"status"} → {open}
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { writeHeapSnapshot } from "node:v8";
import { MAX_FRAME_BYTES } from "@fabricore/protocol";
import WebSocket, { WebSocketServer } from "ws";
import { serveIpc, sleep } from "../lib/proc.ts";

const mode = process.argv[2];

if (mode === "server") {
  const server = createServer((_req, res) => {
    res.writeHead(404);
    res.end();
  });
  // The same options as the Core's hub (core/src/nodes/node-hub.ts).
  const wss = new WebSocketServer({ server, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  let count = 0;
  wss.on("connection", (ws) => {
    count += 1;
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("error", () => {});
    ws.on("close", () => {
      count -= 1;
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  serveIpc({
    memory() {
      const collect = (globalThis as { gc?: () => void }).gc;
      collect?.();
      collect?.();
      const m = process.memoryUsage();
      return { rss: m.rss, heapUsed: m.heapUsed };
    },
    count: () => count,
    /** A heap snapshot (to compare what one connection costs here and in the Core); returns its path. */
    snapshot(message: { dir?: string }) {
      (globalThis as { gc?: () => void }).gc?.();
      return writeHeapSnapshot(message.dir ? `${message.dir}/raw-ws-${Date.now()}.heapsnapshot` : undefined);
    },
  });
  process.send?.({ type: "ready", port: (server.address() as AddressInfo).port });
} else if (mode === "clients") {
  const sockets: WebSocket[] = [];
  let open = 0;
  let failed = 0;
  serveIpc({
    async start(message: { url: string; count: number; rampMs?: number }) {
      const started = Date.now();
      for (let i = 0; i < message.count; i++) {
        const ws = new WebSocket(message.url, { perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
        ws.on("open", () => {
          open += 1;
        });
        ws.on("error", () => {
          failed += 1;
        });
        ws.on("close", () => {
          open -= 1;
        });
        sockets.push(ws);
        if (message.rampMs) {
          const due = started + (message.rampMs * (i + 1)) / message.count;
          if (due - Date.now() > 5) await sleep(due - Date.now());
        }
      }
      return { started: sockets.length };
    },
    status: () => ({ open, failed }),
  });
  process.send?.({ type: "ready" });
} else {
  console.error("usage: ws-baseline.ts server|clients");
  process.exit(2);
}
