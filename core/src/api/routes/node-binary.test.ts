import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { nodeUpdateMessage } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostPlatform } from "../../nodes/node-binaries.ts";
import { Fleet } from "../../services/fleet.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";
import { acceptsGzip, parseRange } from "./node-binary.ts";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

let t: TestCore;
let dir: string;
// Half random (incompressible), half repeated text: the gzip copy is visibly smaller.
const x64 = Buffer.concat([randomBytes(96 * 1024), Buffer.from("fabricore-node ".repeat(8 * 1024))]);
const arm64 = randomBytes(64 * 1024);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fabricore-binaries-"));
  writeFileSync(join(dir, "fabricore-node-linux-x64"), x64);
  writeFileSync(join(dir, "fabricore-node-linux-arm64"), arm64);
  t = await startTestCore({ env: { FABRICORE_NODE_BINARY_DIR: dir } });
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (platform: string, headers: Record<string, string> = {}, method: "GET" | "HEAD" = "GET") =>
  t.core.app.inject({ method, url: `/api/nodes/binary/${platform}`, headers });

describe("GET /api/nodes/binary/:platform", () => {
  it("serves each platform's executable without credentials, with its SHA-256, ETag and length", async () => {
    for (const [platform, bytes] of [
      ["linux-x64", x64],
      ["linux-arm64", arm64],
    ] as const) {
      const res = await get(platform);
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.equals(bytes)).toBe(true);
      expect(res.headers["x-fabricore-sha256"]).toBe(sha256(bytes));
      expect(res.headers.etag).toBe(`"${sha256(bytes)}"`);
      expect(res.headers["content-length"]).toBe(String(bytes.length));
      expect(res.headers["content-type"]).toBe("application/octet-stream");
      expect(res.headers["accept-ranges"]).toBe("bytes");
      expect(res.headers["x-fabricore-node-version"]).toMatch(/^\d+\.\d+\.\d+/);
      expect(res.headers["content-encoding"]).toBeUndefined();
    }
  });

  it("HEAD answers the headers only, with the real length", async () => {
    const res = await get("linux-x64", {}, "HEAD");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-length"]).toBe(String(x64.length));
    expect(res.headers["x-fabricore-sha256"]).toBe(sha256(x64));
    expect(res.rawPayload.length).toBe(0);
  });

  it("answers byte ranges (206), a stale If-Range with the whole file, an impossible range with 416", async () => {
    const part = await get("linux-x64", { range: "bytes=100-199" });
    expect(part.statusCode).toBe(206);
    expect(part.headers["content-range"]).toBe(`bytes 100-199/${x64.length}`);
    expect(part.rawPayload.equals(x64.subarray(100, 200))).toBe(true);

    const tail = await get("linux-x64", { range: "bytes=-10", "if-range": `"${sha256(x64)}"` });
    expect(tail.statusCode).toBe(206);
    expect(tail.rawPayload.equals(x64.subarray(x64.length - 10))).toBe(true);

    const stale = await get("linux-x64", { range: "bytes=0-9", "if-range": '"an-older-build"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(x64.length);

    const outside = await t.api(undefined, "GET", "/api/nodes/binary/linux-x64", undefined, {
      range: `bytes=${x64.length}-`,
    });
    expect(outside.status).toBe(416);
    expect(outside.headers["content-range"]).toBe(`bytes */${x64.length}`);
    expect(outside.body.error.code).toBe("range_not_satisfiable");
  });

  it("answers If-None-Match with 304", async () => {
    const res = await get("linux-arm64", { "if-none-match": `"${sha256(arm64)}"` });
    expect(res.statusCode).toBe(304);
    expect(res.rawPayload.length).toBe(0);
  });

  it("sends gzip to a client that accepts it once the compressed copy is made, same digest header", async () => {
    const binaries = (await t.core.app.inject({ url: "/api/nodes/binary/linux-x64" })).headers;
    expect(binaries["x-fabricore-sha256"]).toBe(sha256(x64));
    // The first gzip-accepting request starts the copy in the background and is answered plainly.
    const first = await get("linux-x64", { "accept-encoding": "gzip" });
    expect(first.statusCode).toBe(200);
    let res = first;
    for (let i = 0; i < 100 && res.headers["content-encoding"] !== "gzip"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      res = await get("linux-x64", { "accept-encoding": "br, gzip;q=0.8" });
    }
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers.etag).toBe(`"${sha256(x64)}-gzip"`);
    expect(res.headers["x-fabricore-sha256"]).toBe(sha256(x64));
    expect(res.rawPayload.length).toBeLessThan(x64.length * 0.9);
    expect(gunzipSync(res.rawPayload).equals(x64)).toBe(true);
    // A client that refuses gzip, or asks for a range, gets the plain bytes.
    expect((await get("linux-x64", { "accept-encoding": "gzip;q=0" })).headers["content-encoding"]).toBeUndefined();
    const ranged = await get("linux-x64", { "accept-encoding": "gzip", range: "bytes=0-0" });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.headers["content-encoding"]).toBeUndefined();
  });

  it("a build served again after another one replaced it gets its gzip copy again (not a 500)", async () => {
    const path = join(dir, "fabricore-node-linux-x64");
    const untilGzip = async (expected: Buffer) => {
      let res = await get("linux-x64", { "accept-encoding": "gzip" });
      for (let i = 0; i < 100 && res.headers["content-encoding"] !== "gzip"; i++) {
        expect(res.statusCode).toBe(200);
        await new Promise((r) => setTimeout(r, 50));
        res = await get("linux-x64", { "accept-encoding": "gzip" });
      }
      expect(res.statusCode).toBe(200);
      expect(gunzipSync(res.rawPayload).equals(expected)).toBe(true);
    };
    await untilGzip(x64);
    // Another build replaces it (its gzip copy removes the first one's), then the first comes back.
    const other = Buffer.concat([randomBytes(32 * 1024), Buffer.from("other build ".repeat(4096))]);
    writeFileSync(path, other);
    utimesSync(path, new Date(), new Date(Date.now() + 2000));
    await untilGzip(other);
    writeFileSync(path, x64);
    utimesSync(path, new Date(), new Date(Date.now() + 4000));
    await untilGzip(x64);
  });

  it("notices a rebuilt file (new digest), and gives 404 with a code for unknown and unbuilt platforms", async () => {
    const rebuilt = randomBytes(1000);
    writeFileSync(join(dir, "fabricore-node-linux-arm64"), rebuilt);
    utimesSync(join(dir, "fabricore-node-linux-arm64"), new Date(), new Date(Date.now() + 5000));
    expect((await get("linux-arm64")).headers["x-fabricore-sha256"]).toBe(sha256(rebuilt));

    const unknown = await t.api(undefined, "GET", "/api/nodes/binary/windows-x64");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe("not_found");
    expect(unknown.body.error.message).toMatch(/linux-x64, linux-arm64/);

    rmSync(join(dir, "fabricore-node-linux-arm64"));
    const missing = await t.api(undefined, "GET", "/api/nodes/binary/linux-arm64");
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/make build-node/);
    writeFileSync(join(dir, "fabricore-node-linux-arm64"), arm64);
  });
});

describe("the host's own build", () => {
  it("is found as plain dist/fabricore-node too (what make build-node writes for this host)", async () => {
    const host = hostPlatform();
    if (host === undefined) return;
    const own = mkdtempSync(join(tmpdir(), "fabricore-binaries-host-"));
    const bytes = randomBytes(4096);
    writeFileSync(join(own, "fabricore-node"), bytes);
    const core = await startTestCore({ env: { FABRICORE_NODE_BINARY_DIR: own } });
    try {
      const res = await core.core.app.inject({ url: `/api/nodes/binary/${host}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-fabricore-sha256"]).toBe(sha256(bytes));
    } finally {
      await core.close();
      rmSync(own, { recursive: true, force: true });
    }
  });
});

describe("parseRange and acceptsGzip", () => {
  it("read the headers as RFC 9110 says", () => {
    expect(parseRange(undefined, 10)).toBe("none");
    expect(parseRange("bytes=0-4", 10)).toEqual({ start: 0, end: 4 });
    expect(parseRange("bytes=5-", 10)).toEqual({ start: 5, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=8-100", 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-1,4-5", 10)).toBe("none");
    expect(parseRange("items=0-1", 10)).toBe("none");
    expect(parseRange("bytes=5-2", 10)).toBe("none");
    expect(acceptsGzip("gzip, deflate, br")).toBe(true);
    expect(acceptsGzip("br;q=1, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip("gzip;q=0")).toBe(false);
    expect(acceptsGzip("identity")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});

describe("GET /api/nodes: version and updateAvailable", () => {
  it("a Node on another version than the served one has an update; on the same, none; never seen, none", async () => {
    const admin = await t.login();
    // The in-process test Node reports 0.0.0-test; this Core serves node/package.json's version.
    const { id } = await t.connectNode("older-1");
    const served = (await get("linux-x64")).headers["x-fabricore-node-version"];
    expect(served).not.toBe("0.0.0-test");
    const listed = await t.api(admin, "GET", "/api/nodes");
    const older = listed.body.find((n: { id: string }) => n.id === id);
    expect(older).toMatchObject({ status: "online", version: "0.0.0-test", updateAvailable: true });
    await t.api(admin, "POST", "/api/nodes", { name: "never-connected" });
    const never = (await t.api(admin, "GET", "/api/nodes/never-connected")).body;
    expect(never).toMatchObject({ version: null, updateAvailable: false });

    // The same fleet as a Core serving the Node's own version shows it up to date.
    const same = new Fleet({ nodes: t.core.repos.nodes, hub: t.core.ctx.hub, servedNodeVersion: "0.0.0-test" });
    expect(same.view(await same.get(id))).toMatchObject({ version: "0.0.0-test", updateAvailable: false });
  });
});

describe("self-update: the release key", () => {
  it("signs each served build; the enrollment answer and GET /api/nodes/update-key give the same public key", async () => {
    const admin = await t.login();
    const { publicKey } = (await t.core.app.inject({ method: "GET", url: "/api/nodes/update-key" })).json();
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const created = (await t.api(admin, "POST", "/api/nodes", { name: "pins-the-key" })).body;
    const nodeKey = generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x;
    const enrolled = await t.core.app.inject({
      method: "POST",
      url: "/api/nodes/enroll",
      payload: { token: created.token, publicKey: nodeKey },
    });
    expect(enrolled.json()).toMatchObject({ nodeId: created.id, updateKey: publicKey });

    const res = await get("linux-x64");
    const version = String(res.headers["x-fabricore-node-version"]);
    const signature = Buffer.from(String(res.headers["x-fabricore-update-signature"]), "base64url");
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
    const message = (platform: string, digest: string) => Buffer.from(nodeUpdateMessage(platform, version, digest));
    expect(verify(null, message("linux-x64", sha256(x64)), key, signature)).toBe(true);
    // Bound to the platform and the bytes: the x64 signature says nothing about the arm64 build.
    expect(verify(null, message("linux-arm64", sha256(arm64)), key, signature)).toBe(false);
    // The key outlives the process: a Core restarted on the same data dir presents the same one.
    expect(readFileSync(join(t.dataDir, "node-release-key.pem"), "utf8")).toContain("PRIVATE KEY");
  });

  it("the hello answer tells a Node the version this Core serves and its release key", async () => {
    const { node } = await t.connectNode("told-the-version");
    const served = (await get("linux-x64")).headers["x-fabricore-node-version"];
    expect(node.manager.hello?.nodeVersion).toBe(served);
    // The same key as the enrollment answer: a Node enrolled before it existed pins it from here.
    const { publicKey } = (await t.core.app.inject({ method: "GET", url: "/api/nodes/update-key" })).json();
    expect(node.manager.hello?.updateKey).toBe(publicKey);
  });
});
