import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ApiClient } from "../api-client.ts";
import { makeStyle } from "../style.ts";
import { exitCodeOfRun, followRun } from "./run.ts";

/** A loopback HTTP server standing in for the Core's event stream, to cut the stream mid-run;
 * GET /api/runs/:id (read at the end for a fan-out's children) answers a plain run. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => {
    if (req.url?.endsWith("/events")) return handler(req, res, n++);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "r1", jobId: "j1", trigger: "manual", status: "failed" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push(server);
  return url;
}
const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

const sse = (event: string, data: unknown, id?: number) =>
  `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const step = {
  seq: 1,
  type: "tool",
  tool: "system_stats",
  node: "web-1",
  arguments: {},
  result: { content: [{ type: "text", text: "load 0.1" }], isError: false, durationMs: 4 },
  isError: false,
  durationMs: 4,
};

describe("followRun", () => {
  it("picks a dropped stream up where it stopped (Last-Event-ID) and returns the run's status", async () => {
    const seen: (string | undefined)[] = [];
    const url = await serve((req, res, n) => {
      seen.push(req.headers["last-event-id"] as string | undefined);
      expect(req.headers.authorization).toBe("Bearer t");
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (n === 0) {
        res.write(sse("step", step, 1));
        setTimeout(() => res.destroy(), 20); // the connection breaks mid-run
        return;
      }
      res.end(sse("status", { status: "failed", output: null, error: "boom" }) + sse("done", { status: "failed" }));
    });
    let out = "";
    const status = await followRun(new ApiClient({ url, token: "t" }), "r1", makeStyle(false), (t) => (out += t));
    expect(status).toBe("failed");
    expect(exitCodeOfRun(status)).toBe(1);
    expect(seen).toEqual([undefined, "1"]);
    expect(out).toBe("→ web-1 · system_stats {}\n  ✓ system_stats 4 ms load 0.1\n✗ run r1 failed: boom\n");
  });

  it("throws the API's message when the stream is refused", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "not_found", message: "run r9 not found" } }));
    });
    await expect(followRun(new ApiClient({ url, token: "t" }), "r9", makeStyle(false), () => {})).rejects.toThrow(
      "run r9 not found",
    );
  });

  it("in --json mode hands every event over as it came and ends at done", async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(sse("step", step, 1) + sse("done", { status: "succeeded" }));
    });
    const events: unknown[] = [];
    const status = await followRun(
      new ApiClient({ url, token: "t" }),
      "r1",
      makeStyle(false),
      () => {},
      (e) => events.push(e),
    );
    expect(status).toBe("succeeded");
    expect(events).toEqual([
      { event: "step", data: step, id: "1" },
      { event: "done", data: { status: "succeeded" } },
    ]);
  });
});
