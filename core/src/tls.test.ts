import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeLoopbackCert } from "./testing/loopback-cert.ts";
import { startTestCore, TEST_ADMIN_PASSWORD, type TestCore } from "./testing/test-core.ts";

/** SECURITY.md "TLS": with FABRICORE_TLS_CERT/KEY the Core serves HTTPS only, with HSTS and
 * Secure cookies. The certificate is made with openssl (testing/loopback-cert.ts) (self-signed, for 127.0.0.1). */

let dir: string;
let t: TestCore;
let base: string;
let ca: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fabricore-tls-"));
  makeLoopbackCert(dir, join(dir, "cert.pem"));
  ca = readFileSync(join(dir, "cert.pem"));
  t = await startTestCore({
    env: {
      FABRICORE_TLS_CERT: join(dir, "cert.pem"),
      FABRICORE_TLS_KEY: join(dir, "key.pem"),
      FABRICORE_HOST: "127.0.0.1",
      FABRICORE_PORT: "0",
    },
  });
  await t.core.listen();
  const address = t.core.app.server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  base = `https://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(path: string, options: { method?: string; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      {
        ca,
        method: options.method ?? "GET",
        headers: options.body ? { "content-type": "application/json" } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

describe("TLS (SECURITY.md: TLS)", () => {
  it("serves HTTPS with the given certificate, and HSTS on every answer", async () => {
    const res = await get("/healthz");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body).status).toBe("ok");
    expect(res.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
  });

  it("the session cookie is Secure", async () => {
    const res = await get("/api/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: "admin", password: TEST_ADMIN_PASSWORD }),
    });
    expect(res.status).toBe(200);
    expect(String(res.headers["set-cookie"])).toMatch(/;\s*Secure/i);
  });

  it("plain HTTP on the same port gets no answer from the API", async () => {
    const plain = await fetch(base.replace("https:", "http:") + "/healthz").then(
      (r) => r.status,
      () => "refused",
    );
    expect(plain === "refused" || plain === 400).toBe(true);
  });

  it("a client that does not trust the certificate cannot connect", async () => {
    const outcome = await new Promise((resolve) => {
      const req = request(`${base}/healthz`, (res) => resolve(res.statusCode));
      req.on("error", (error: NodeJS.ErrnoException) => resolve(error.code));
      req.end();
    });
    expect(outcome).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });
});
