import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import { uiCacheControl } from "./http-niceties.ts";

/** Issue 23 "HTTP as browsers, proxies and clients expect it". */

let t: TestCore;
let uiDir: string;
let admin: string;
const script = `console.log(${JSON.stringify("x".repeat(8000))});`;

beforeAll(async () => {
  uiDir = mkdtempSync(join(tmpdir(), "fabricore-ui-"));
  mkdirSync(join(uiDir, "assets"));
  writeFileSync(join(uiDir, "index.html"), "<!doctype html><title>FabriCore</title>");
  writeFileSync(join(uiDir, "assets", "index-DQxT4f7g.js"), script);
  writeFileSync(join(uiDir, "favicon.svg"), "<svg/>");
  t = await startTestCore({ env: { FABRICORE_UI_DIR: uiDir } });
  admin = await t.login();
});

afterAll(async () => {
  await t?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) =>
  t.core.app.inject({ url, headers: { authorization: `Bearer ${admin}`, ...headers } });

describe("compression", () => {
  it("sends the UI's scripts and the OpenAPI document with brotli or gzip, as the client asks", async () => {
    const br = await get("/assets/index-DQxT4f7g.js", { "accept-encoding": "br, gzip" });
    expect(br.headers["content-encoding"]).toBe("br");
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(script);
    const gz = await get("/api/openapi.json", { "accept-encoding": "gzip" });
    expect(gz.headers["content-encoding"]).toBe("gzip");
    const doc = JSON.parse(gunzipSync(gz.rawPayload).toString());
    expect(doc.openapi).toMatch(/^3\./);
    expect(gz.rawPayload.length).toBeLessThan(JSON.stringify(doc).length / 3);
    const raw = await get("/api/openapi.json");
    expect(raw.headers["content-encoding"]).toBeUndefined();
  });
});

describe("caching of the UI", () => {
  it("hashed assets are immutable for a year; the page and unhashed files are revalidated", async () => {
    const asset = await get("/assets/index-DQxT4f7g.js");
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect((await get("/favicon.svg")).headers["cache-control"]).toBe("no-cache");
    expect(uiCacheControl("/srv/ui/assets/logo.svg")).toBe("no-cache");
    expect(uiCacheControl("/srv/ui/index.html")).toBe("no-cache");
  });
});

describe("methods", () => {
  it("a wrong method on a known path is 405 with Allow; an unknown path stays 404", async () => {
    const res = await t.api(admin, "PUT", "/api/jobs");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET, HEAD, OPTIONS, POST");
    expect(res.body.error.code).toBe("method_not_allowed");
    const byId = await t.api(admin, "POST", "/api/runs/abc");
    expect(byId.status).toBe(405);
    expect(byId.headers.allow).toBe("GET, HEAD, OPTIONS");
    expect((await t.api(admin, "GET", "/api/no-such-thing")).status).toBe(404);
  });

  it("OPTIONS answers 204 with the path's methods, without credentials", async () => {
    const res = await t.api(undefined, "OPTIONS", "/api/jobs/some-id");
    expect(res.status).toBe(204);
    expect(res.headers.allow).toBe("DELETE, GET, HEAD, OPTIONS, PATCH");
    expect((await t.api(undefined, "OPTIONS", "/api/nowhere")).status).toBe(404);
  });
});

describe("request ids", () => {
  it("a plain incoming X-Request-Id is echoed, in the header, the error body and the log line", async () => {
    const res = await t.api(admin, "GET", "/api/jobs/missing", undefined, { "x-request-id": "trace-4711" });
    expect(res.status).toBe(404);
    expect(res.headers["x-request-id"]).toBe("trace-4711");
    expect(res.body.error.requestId).toBe("trace-4711");
    const lines = t.logLines.filter((l) => l.includes('"reqId":"trace-4711"'));
    expect(lines.length).toBeGreaterThan(0);
  });

  it("an id is made when none (or one unfit for a log line) comes in", async () => {
    const none = await t.api(admin, "GET", "/api/auth/me");
    expect(none.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const forged = await t.api(admin, "GET", "/api/auth/me", undefined, { "x-request-id": 'a"}\\n{"level":60' });
    expect(forged.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const other = await t.api(admin, "GET", "/api/auth/me");
    expect(other.headers["x-request-id"]).not.toBe(none.headers["x-request-id"]);
  });
});

describe("POST /api/jobs/:id/run without a body", () => {
  it("starts the run with no body, an empty JSON body, or {}", async () => {
    await t.api(admin, "POST", "/api/providers", {
      name: "p",
      kind: "openai-compatible",
      baseUrl: "http://127.0.0.1:9/v1",
    });
    await t.connectNode("n1");
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "j",
      prompt: "hello",
      model: { provider: "p", model: "m" },
      nodes: ["n1"],
    });
    expect(job.status).toBe(201);
    const url = `/api/jobs/${job.body.id}/run`;
    const bare = await t.core.app.inject({ method: "POST", url, headers: { authorization: `Bearer ${admin}` } });
    expect(bare.statusCode, bare.body).toBe(202);
    const empty = await t.core.app.inject({
      method: "POST",
      url,
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      payload: "",
    });
    expect(empty.statusCode, empty.body).toBe(202);
    expect((await t.api(admin, "POST", url, {})).status).toBe(202);
    // A body that is there must still be JSON.
    const broken = await t.api(admin, "POST", url, "{", {});
    expect(broken.status).toBe(400);
  });
});
