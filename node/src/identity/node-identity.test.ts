import { createPublicKey, verify } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_AUTH_HEADERS, nodeAuthMessage } from "@fabricore/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../logger.ts";
import { IDENTITY_FILE, KEY_FILE, NodeIdentity, NodeIdentityError } from "./node-identity.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "__fixtures__", name), "utf8");

/** A stand-in for the Core's enroll and challenge routes that checks what the Node sends. */
interface FakeCore {
  url: string;
  keys: Map<string, string>;
  tokens: Map<string, string>;
  enrolls: number;
  close(): Promise<void>;
}

async function fakeCore(tls?: { cert: string; key: string }): Promise<FakeCore> {
  const core: FakeCore = {
    url: "",
    keys: new Map(),
    tokens: new Map([["fcn_first", "n1"]]),
    enrolls: 0,
    close: async () => {},
  };
  let counter = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/nodes/enroll") {
        core.enrolls += 1;
        const { token, publicKey } = JSON.parse(body) as { token: string; publicKey: string };
        const nodeId = core.tokens.get(token);
        if (!nodeId) {
          res.statusCode = 401;
          res.end(
            JSON.stringify({ error: { code: "unauthorized", message: "this enrollment token was already used" } }),
          );
          return;
        }
        core.tokens.delete(token);
        core.keys.set(nodeId, publicKey);
        res.end(JSON.stringify({ nodeId, name: "web-1" }));
      } else if (req.url === "/api/nodes/challenge") {
        counter += 1;
        res.end(JSON.stringify({ nonce: `nonce${String(counter).padStart(12, "0")}`, expiresAt: "x" }));
      } else {
        res.statusCode = 404;
        res.end("{}");
      }
    });
  };
  const server: Server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  core.url = `${tls ? "https" : "http"}://127.0.0.1:${port}`;
  core.close = () => new Promise((resolve) => server.close(() => resolve()));
  return core;
}

function verifies(core: FakeCore, headers: Record<string, string>, origin = core.url): boolean {
  const nodeId = headers[NODE_AUTH_HEADERS.nodeId]!;
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: core.keys.get(nodeId)! }, format: "jwk" });
  const message = nodeAuthMessage(nodeId, headers[NODE_AUTH_HEADERS.nonce]!, origin);
  return verify(null, Buffer.from(message), key, Buffer.from(headers[NODE_AUTH_HEADERS.signature]!, "base64url"));
}

let dataDir: string;
const cores: FakeCore[] = [];
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "fabricore-node-identity-"));
});
afterEach(async () => {
  for (const core of cores.splice(0)) await core.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(tls?: { cert: string; key: string }) {
  const core = await fakeCore(tls);
  cores.push(core);
  return core;
}

const open = (coreUrls: string[], token?: string, ca?: string) =>
  NodeIdentity.open({ dataDir, coreUrls, token, ca, logger: silentLogger });

describe("NodeIdentity", () => {
  it("enrolls with the token once, keeps the private key 0600, and signs every challenge for the Core's origin", async () => {
    const core = await start();
    const identity = await open([core.url], "fcn_first");
    const headers = await identity.authHeaders(core.url);
    expect(headers[NODE_AUTH_HEADERS.nodeId]).toBe("n1");
    expect(verifies(core, headers)).toBe(true);
    expect(verifies(core, headers, "http://elsewhere:1")).toBe(false);
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), "utf8"))).toMatchObject({
      nodeId: "n1",
      coreOrigins: [core.url],
    });
    const second = await identity.authHeaders(core.url);
    expect(second[NODE_AUTH_HEADERS.nonce]).not.toBe(headers[NODE_AUTH_HEADERS.nonce]);

    // Restarted with the same (now spent) token in its environment: no second enrollment.
    const restarted = await open([core.url], "fcn_first");
    expect(verifies(core, await restarted.authHeaders(core.url))).toBe(true);
    expect(core.enrolls).toBe(1);
    // And without any token at all.
    expect(verifies(core, await (await open([core.url])).authHeaders(core.url))).toBe(true);
  });

  it("refuses to start with a key file that group or others can read", async () => {
    const core = await start();
    await (await open([core.url], "fcn_first")).authHeaders(core.url);
    chmodSync(join(dataDir, KEY_FILE), 0o644);
    await expect(open([core.url])).rejects.toMatchObject({ code: "key_file_insecure", message: /chmod 600/ });
  });

  it("needs a token the first time, and refuses a spent one with the Core's reason", async () => {
    const core = await start();
    await expect(open([core.url])).rejects.toMatchObject({ code: "not_enrolled", message: /--token/ });
    const identity = await open([core.url], "fcn_spent");
    const error = await identity.authHeaders(core.url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeIdentityError);
    expect(error).toMatchObject({ code: "enrollment_refused", message: /already used/ });
  });

  it("is pinned to the Core it enrolled with: another one is refused unless re-enrolled with a new token", async () => {
    const core = await start();
    const other = await start();
    await (await open([core.url], "fcn_first")).authHeaders(core.url);
    await expect(open([other.url], "fcn_first")).rejects.toMatchObject({
      code: "core_not_pinned",
      message: expect.stringContaining(`refuses ${other.url}`),
    });
    // Adding a replica that was not there at enrollment is refused the same way.
    await expect(open([core.url, other.url])).rejects.toMatchObject({ code: "core_not_pinned" });
    other.tokens.set("fcn_moved", "n7");
    const moved = await open([other.url], "fcn_moved");
    const headers = await moved.authHeaders(other.url);
    expect(headers[NODE_AUTH_HEADERS.nodeId]).toBe("n7");
    expect(verifies(other, headers)).toBe(true);
    await expect(open([core.url])).rejects.toMatchObject({ code: "core_not_pinned" });
  });

  it("re-enrolls with a rotated token (a new key), and keeps its key when the new token is refused", async () => {
    const core = await start();
    await (await open([core.url], "fcn_first")).authHeaders(core.url);
    const firstKey = readFileSync(join(dataDir, KEY_FILE), "utf8");
    const refused = await open([core.url], "fcn_bogus");
    expect(verifies(core, await refused.authHeaders(core.url))).toBe(true);
    expect(readFileSync(join(dataDir, KEY_FILE), "utf8")).toBe(firstKey);

    core.tokens.set("fcn_rotated", "n1");
    const rotated = await open([core.url], "fcn_rotated");
    expect(verifies(core, await rotated.authHeaders(core.url))).toBe(true);
    expect(readFileSync(join(dataDir, KEY_FILE), "utf8")).not.toBe(firstKey);
  });

  it("verifies the Core's certificate (--ca for a private CA) and pins its fingerprint", async () => {
    const a = { cert: fixture("core-a.crt"), key: fixture("core-a.key") };
    const b = { cert: fixture("core-b.crt"), key: fixture("core-b.key") };
    const core = await start(a);
    // Default verification: a certificate no trusted CA signed is refused.
    await expect((await open([core.url], "fcn_first")).authHeaders(core.url)).rejects.toThrow(/self[- ]signed/i);

    const ca = `${a.cert}${b.cert}`;
    const identity = await open([core.url], "fcn_first", ca);
    expect(verifies(core, await identity.authHeaders(core.url))).toBe(true);
    const stored = JSON.parse(readFileSync(join(dataDir, IDENTITY_FILE), "utf8"));
    expect(Object.values(stored.tlsFingerprints)[0]).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // Same address, another certificate (trusted by the CA file, even): refused as not the pinned one.
    const port = Number(new URL(core.url).port);
    await core.close();
    cores.splice(cores.indexOf(core), 1);
    cores.push(await listenOn(port, b));
    const error = await (await open([core.url], undefined, ca)).authHeaders(core.url).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "certificate_changed" });
  });
});

/** A fake Core answering challenges on a given port (the pinned origin) with another certificate. */
async function listenOn(port: number, tls: { cert: string; key: string }): Promise<FakeCore> {
  const server = createHttpsServer(tls, (_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ nonce: "nonce000000000001", expiresAt: "x" }));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${port}`,
    keys: new Map(),
    tokens: new Map(),
    enrolls: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
