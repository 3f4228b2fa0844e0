/**
 * Issue 15.4: the origin a Node signs is checked against the scheme and host the Core was reached
 * at; X-Forwarded-Proto/-Host count only when the peer is a proxy named in FABRICORE_TRUST_PROXY.
 * Before the fix any client could send X-Forwarded-Host and have an upgrade signed for
 * http://evil.example:8080 accepted (101). The real Core process, a key of the test's own.
 */
import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { NODE_AUTH_HEADERS, nodeAuthMessage } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ApiClient, type CoreHandle, startCore } from "./support/harness.ts";

interface Enrolled {
  core: CoreHandle;
  api: ApiClient;
  nodeId: string;
  key: KeyObject;
}

async function enrolled(env: Record<string, string>): Promise<Enrolled> {
  const core = await startCore({ env });
  const api = await new ApiClient(core.url).login();
  const created = await api.ok("POST", "/api/nodes", { name: "origin-node" });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const x = publicKey.export({ format: "jwk" }).x as string;
  await api.ok("POST", "/api/nodes/enroll", { token: created.token, publicKey: x });
  return { core, api, nodeId: created.id, key: privateKey };
}

/** The upgrade, signed for `origin`, with extra headers: 101 or the status the Core answered. */
async function upgrade(e: Enrolled, origin: string, extra: Record<string, string> = {}): Promise<number> {
  const { nonce } = (await e.api.request("POST", "/api/nodes/challenge", {})).body as { nonce: string };
  const headers = {
    [NODE_AUTH_HEADERS.nodeId]: e.nodeId,
    [NODE_AUTH_HEADERS.nonce]: nonce,
    [NODE_AUTH_HEADERS.signature]: sign(null, Buffer.from(nodeAuthMessage(e.nodeId, nonce, origin)), e.key).toString(
      "base64url",
    ),
    ...extra,
  };
  return new Promise((resolve) => {
    const ws = new WebSocket(`${e.core.url.replace("http", "ws")}/api/nodes/connect`, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once("error", () => resolve(0));
  });
}

describe("origin binding and forwarded headers (issue 15.4)", () => {
  let untrusting: Enrolled;
  let behindProxy: Enrolled;

  beforeAll(async () => {
    // The only proxy it believes is elsewhere: this test's loopback client is not one.
    untrusting = await enrolled({ FABRICORE_TRUST_PROXY: "192.0.2.1" });
    // The default: a proxy on this host (loopback) may say what the client dialled.
    behindProxy = await enrolled({});
  }, 90_000);

  afterAll(async () => {
    await untrusting?.core.proc.stop();
    await behindProxy?.core.proc.stop();
  });

  it("from a client that is not a trusted proxy, X-Forwarded-Host/-Proto are ignored: a signature for another origin is 401", async () => {
    const evil = "http://evil.example:8080";
    expect(await upgrade(untrusting, evil, { "x-forwarded-host": "evil.example:8080" })).toBe(401);
    expect(
      await upgrade(untrusting, evil, { "x-forwarded-host": "evil.example:8080", "x-forwarded-proto": "http" }),
    ).toBe(401);
    const httpsSelf = untrusting.core.url.replace("http:", "https:");
    expect(await upgrade(untrusting, httpsSelf, { "x-forwarded-proto": "https" })).toBe(401);
    // The origin it was really reached at still works, with or without the forged headers.
    expect(await upgrade(untrusting, untrusting.core.url)).toBe(101);
    expect(await upgrade(untrusting, untrusting.core.url, { "x-forwarded-host": "evil.example:8080" })).toBe(101);
  });

  it("from a trusted proxy (loopback by default), the forwarded origin is the one checked", async () => {
    const proxied = "https://core.example.com";
    expect(
      await upgrade(behindProxy, proxied, { "x-forwarded-host": "core.example.com", "x-forwarded-proto": "https" }),
    ).toBe(101);
    // Behind that proxy, a signature for the Core's own address is for another origin.
    expect(
      await upgrade(behindProxy, behindProxy.core.url, {
        "x-forwarded-host": "core.example.com",
        "x-forwarded-proto": "https",
      }),
    ).toBe(401);
  });
});
