/**
 * Issue 14, "a Core killed with a delivery pending delivers it after restart, once": the real Core
 * process is SIGKILLed while its webhook delivery is in flight (the receiver holds the request
 * open), and a new Core on the same data dir sends it again at start — not when the dead
 * process's lease would have expired — and only once: the receiver sees the first, cut attempt and
 * one more with the same `webhook-id` (Standard Webhooks' idempotency key), verified by the
 * `standardwebhooks` reference library, and nothing after it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { Webhook } from "standardwebhooks";
import { afterAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "./support/harness.ts";

const SECRET = `whsec_${Buffer.from("delivery-restart-signing-key").toString("base64")}`;

interface Seen {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A receiver that never answers its first request (the Core dies waiting) and 200s the rest. */
async function startHangingReceiver() {
  const seen: Seen[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      if (seen.length === 1) held.push(res);
      else res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("a pending delivery survives a Core killed mid-attempt", { timeout: 90_000 }, () => {
  it("is sent again by the next Core at start, once, with the same webhook-id", async () => {
    ensureNodeBinary();
    const llm = await startScriptedOpenAiServer({ script: () => turn.text("Disks are fine.") });
    cleanups.push(() => llm.close());
    const receiver = await startHangingReceiver();
    cleanups.push(() => receiver.close());
    const dataDir = tempDir("delivery-restart");
    // A long attempt deadline: only the kill ends the first attempt.
    const env = { FABRICORE_DELIVERY_TIMEOUT_SECONDS: "120" };
    let core: CoreHandle = await startCore({ dataDir, env });
    cleanups.push(() => core.proc.stop());
    let api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const enrolled = await api.ok("POST", "/api/nodes", { name: "web-1" });
    const node: NodeProc = startNode(core.url, enrolled.token, []);
    cleanups.push(() => node.stop());
    await api.waitNodeOnline(enrolled.id);
    await api.ok("POST", "/api/channels", {
      name: "ops",
      kind: "webhook",
      config: { url: receiver.url, secret: SECRET },
    });
    const job = await api.ok("POST", "/api/jobs", {
      name: "disk-check",
      prompt: "Check the disks.",
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: ["web-1"],
      notify: [{ channel: "ops", on: ["succeeded", "failed"] }],
    });
    const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
    await waitFor("the first delivery attempt to reach the receiver", async () => receiver.seen.length === 1);
    const before = await api.ok("GET", `/api/runs/${runId}`);
    expect(before.deliveries).toMatchObject([{ channel: "ops", status: "pending" }]);

    await core.proc.stop("SIGKILL");
    core = await startCore({ dataDir, port: core.port, env });
    api = await new ApiClient(core.url).login();
    await waitFor(
      "the delivery to be recorded as delivered by the new Core",
      async () => (await api.ok("GET", `/api/runs/${runId}`)).deliveries[0]?.status === "delivered",
      30_000,
    );
    // Nothing more comes: the delivery is done.
    await new Promise((r) => setTimeout(r, 3000));
    expect(receiver.seen).toHaveLength(2);
    const [cut, resent] = receiver.seen as [Seen, Seen];
    expect(resent.headers["webhook-id"]).toBe(cut.headers["webhook-id"]);
    const payload = new Webhook(SECRET).verify(resent.body, {
      "webhook-id": String(resent.headers["webhook-id"]),
      "webhook-timestamp": String(resent.headers["webhook-timestamp"]),
      "webhook-signature": String(resent.headers["webhook-signature"]),
    }) as { type: string; run: { id: string } };
    expect(payload).toMatchObject({ type: "run.succeeded", run: { id: runId } });
    const after = await api.ok("GET", `/api/runs/${runId}`);
    expect(after.deliveries).toMatchObject([{ channel: "ops", status: "delivered", attempts: expect.any(Number) }]);
  });
});
