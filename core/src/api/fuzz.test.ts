import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseToolArguments } from "../agent/tool-arguments.ts";
import { routesOf } from "../app.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * SECURITY.md "Hostile input": random JSON (and non-JSON) bodies to every POST/PATCH/PUT route,
 * as admin (who reaches every handler). Always an answer below 500; a 4xx always carries
 * `{"error":{"code","message"}}`; the Core keeps serving.
 */

let t: TestCore;
let admin: string;
let ids: Record<string, string>;

beforeAll(async () => {
  t = await startTestCore({
    env: { FABRICORE_LOGIN_FAILURES_PER_MINUTE: "100000", FABRICORE_WEBHOOK_RATE_PER_MINUTE: "100000" },
  });
  admin = await t.login();
  const node = await t.core.ctx.fleet.enroll("web-1", {});
  const provider = await t.api(admin, "POST", "/api/providers", {
    name: "p1",
    kind: "lmstudio",
    baseUrl: "http://127.0.0.1:9",
  });
  const job = await t.api(admin, "POST", "/api/jobs", {
    name: "j1",
    prompt: "p",
    model: { provider: "p1", model: "m" },
    webhook: { slug: "hook", public: true },
    enabled: false,
  });
  ids = { node: node.id, provider: provider.body.id, job: job.body.id };
});

afterAll(async () => {
  await t?.close();
});

/** Real ids half the time (so handlers run, not only the 404 path), nonsense otherwise. */
function fill(url: string, real: boolean): string {
  const id = url.startsWith("/api/nodes")
    ? ids.node
    : url.startsWith("/api/providers")
      ? ids.provider
      : url.startsWith("/api/jobs")
        ? ids.job
        : "nope";
  return url
    .replace(":id", real ? id! : "x%00y")
    .replace(":slug", real ? "hook" : "none")
    .replace(":name", "n");
}

const bodies = fc.oneof(
  fc.json({ maxDepth: 4 }).map((json) => ({ payload: json, type: "application/json" })),
  fc.anything({ maxDepth: 3 }).map((v) => ({ payload: JSON.stringify(v) ?? "null", type: "application/json" })),
  fc.string().map((s) => ({ payload: s, type: "application/json" })),
  fc.string().map((s) => ({ payload: s, type: "text/plain" })),
  fc
    .record(
      { name: fc.string(), kind: fc.string(), model: fc.anything(), prompt: fc.string(), webhook: fc.anything() },
      { requiredKeys: [] },
    )
    .map((v) => ({ payload: JSON.stringify(v), type: "application/json" })),
);

describe("HTTP routes under random bodies (SECURITY.md: Hostile input)", () => {
  it("every POST/PATCH/PUT route answers < 500 with the error shape on 4xx", async () => {
    const routes = routesOf(t.core.app).filter(
      (r) => ["POST", "PATCH", "PUT"].includes(r.method) && r.url !== "/api/auth/logout",
    );
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(bodies, fc.boolean(), async (body, real) => {
          const res = await t.core.app.inject({
            method: route.method as "POST",
            url: fill(route.url, real),
            headers: { authorization: `Bearer ${admin}`, "content-type": body.type },
            payload: body.payload,
          });
          const where = `${route.method} ${route.url} ${body.type} ${body.payload.slice(0, 200)}`;
          expect(res.statusCode, where).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const parsed = res.json();
            // /mcp speaks JSON-RPC (MCP's Streamable HTTP): once a body reaches the MCP transport its
            // errors are JSON-RPC errors with a numeric code; a body Fastify refuses gets ours.
            const jsonRpc = route.url === "/mcp" && parsed.jsonrpc === "2.0";
            expect(typeof parsed.error?.code, where).toBe(jsonRpc ? "number" : "string");
            expect(typeof parsed.error?.message, where).toBe("string");
          }
        }),
        { numRuns: 40 },
      );
    }
    expect((await t.api(admin, "GET", "/api/auth/me")).status).toBe(200);
  });

  it("tool arguments from a model: parseToolArguments never throws on any text", () => {
    const schema = { type: "object", properties: { path: { type: "string" } }, required: ["path"] };
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: "binary" })), (text) => {
        const parsed = parseToolArguments(text, schema);
        if (parsed.ok) expect(typeof parsed.args).toBe("object");
        else expect(typeof parsed.error).toBe("string");
      }),
      { numRuns: 2000 },
    );
  });
});
