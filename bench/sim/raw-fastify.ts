/** Baseline for webhook intake: a bare Fastify app with one POST route shaped like the Core's webhook
 * route (raw body parser, 202 with a run id) and nothing behind it. IPC: ready {port}. */
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import Fastify from "fastify";

const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
app.post("/api/webhook/:slug", async (_request, reply) => {
  reply.code(202);
  return { runId: randomUUID() };
});
await app.listen({ host: "127.0.0.1", port: 0 });
process.on("disconnect", () => process.exit(0));
process.send?.({ type: "ready", port: (app.server.address() as AddressInfo).port });
