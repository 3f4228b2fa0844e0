import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeAuthMessage } from "@fabricore/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type OpenedDatabase, openDatabase } from "../database/connection.ts";
import { migrateToLatest, NodesRepo } from "../database/index.ts";
import { generateToken, hashToken } from "../secrets/index.ts";
import { checkNonce, deriveChallengeKey, issueNonce, verifyNodeSignature } from "./node-auth.ts";
import { NodeIdentityService } from "./node-identity-service.ts";

const ORIGIN = "http://127.0.0.1:8080";

function keyPair(): { privateKey: KeyObject; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey: publicKey.export({ format: "jwk" }).x as string };
}

let dir: string;
let database: OpenedDatabase;
let nodes: NodesRepo;
let disconnected: string[];
let now: number;

function service(challengeKey = deriveChallengeKey(Buffer.alloc(32, 7))): NodeIdentityService {
  return new NodeIdentityService({
    nodes,
    hub: {
      disconnect: async (id) => {
        disconnected.push(id);
        return true;
      },
    },
    challengeKey,
    now: () => now,
  });
}

/** What the Node does at every connect: a challenge from this Core, signed for this Core's origin. */
function signed(identity: NodeIdentityService, nodeId: string, key: KeyObject, origin = ORIGIN) {
  const { nonce } = identity.challenge();
  const signature = sign(null, Buffer.from(nodeAuthMessage(nodeId, nonce, origin)), key).toString("base64url");
  return { kind: "signed" as const, nodeId, nonce, signature, origin };
}

async function createNode(name = "web-1") {
  const token = generateToken("fcn_");
  const node = await nodes.create({ name, tokenHash: hashToken(token) });
  return { node, token };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "fabricore-identity-"));
  database = openDatabase({ dataDir: dir });
  await migrateToLatest(database.db);
  nodes = new NodesRepo(database.db);
  disconnected = [];
  now = Date.parse("2026-01-01T00:00:00Z");
});

afterEach(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("challenge nonces", () => {
  it("are accepted until they expire, only from the key that issued them, and never when altered", () => {
    const key = randomBytes(32);
    const { nonce } = issueNonce(key, 1_000, 60_000);
    expect(checkNonce(key, nonce, 60_999)).toMatchObject({ ok: true });
    expect(checkNonce(key, nonce, 61_000)).toEqual({ ok: false, reason: "nonce expired" });
    expect(checkNonce(randomBytes(32), nonce, 2_000)).toEqual({ ok: false, reason: "nonce not issued by this Core" });
    const flipped = `${nonce.slice(0, 5)}${nonce[5] === "A" ? "B" : "A"}${nonce.slice(6)}`;
    expect(checkNonce(key, flipped, 2_000).ok).toBe(false);
    expect(checkNonce(key, "short", 2_000)).toEqual({ ok: false, reason: "malformed nonce" });
  });

  it("signature checks never throw on junk", () => {
    const { publicKey } = keyPair();
    expect(verifyNodeSignature(publicKey, "m", "x".repeat(86))).toBe(false);
    expect(verifyNodeSignature("not-a-key", "m", "x".repeat(86))).toBe(false);
  });
});

describe("NodeIdentityService", () => {
  it("enrolls once: the token registers one key and is then spent", async () => {
    const identity = service();
    const { node, token } = await createNode();
    const a = keyPair();
    expect(await identity.register(token, a.publicKey)).toEqual({ nodeId: node.id, name: "web-1" });
    // The same key again (a Node that crashed before saving the answer) gets the same answer…
    expect(await identity.register(token, a.publicKey)).toEqual({ nodeId: node.id, name: "web-1" });
    // …any other key is refused: a leaked, spent token is worthless.
    await expect(identity.register(token, keyPair().publicKey)).rejects.toMatchObject({
      code: "unauthorized",
      message: expect.stringContaining("already used"),
    });
    await expect(identity.register(generateToken("fcn_"), a.publicKey)).rejects.toMatchObject({ code: "unauthorized" });
    await expect(identity.register(token, "not-a-key")).rejects.toMatchObject({ code: "bad_request" });
    expect((await nodes.get(node.id))?.publicKey).toBe(a.publicKey);
  });

  it("admits a valid signature and refuses a forged one, a replay, another origin, a stale or foreign nonce", async () => {
    const identity = service();
    const { node, token } = await createNode();
    const a = keyPair();
    await identity.register(token, a.publicKey);

    const good = signed(identity, node.id, a.privateKey);
    expect(await identity.authenticate(good)).toEqual({ nodeId: node.id, name: "web-1" });
    expect(await identity.authenticate(good)).toEqual({ refused: "this challenge nonce was already used" });

    const forged = signed(identity, node.id, keyPair().privateKey);
    expect(await identity.authenticate(forged)).toMatchObject({ refused: expect.stringContaining("bad signature") });

    // Signed for another Core: relaying it here does not work.
    const elsewhere = signed(identity, node.id, a.privateKey, "https://evil.example");
    expect(await identity.authenticate({ ...elsewhere, origin: ORIGIN })).toMatchObject({
      refused: expect.stringContaining("bad signature"),
    });

    const stale = signed(identity, node.id, a.privateKey);
    now += 60_001;
    expect(await identity.authenticate(stale)).toMatchObject({ refused: expect.stringContaining("expired") });

    const foreign = signed(service(deriveChallengeKey(Buffer.alloc(32, 9))), node.id, a.privateKey);
    expect(await identity.authenticate(foreign)).toMatchObject({
      refused: expect.stringContaining("not issued by this Core"),
    });

    expect(await identity.authenticate({ kind: "bearer", token })).toMatchObject({
      refused: expect.stringContaining("bearer"),
    });
  });

  it("refuses a node before it enrolled, and after it was revoked (deleted)", async () => {
    const identity = service();
    const { node, token } = await createNode();
    const a = keyPair();
    expect(await identity.authenticate(signed(identity, node.id, a.privateKey))).toMatchObject({
      refused: expect.stringContaining("has not registered a key"),
    });
    await identity.register(token, a.publicKey);
    await nodes.delete(node.id);
    expect(await identity.authenticate(signed(identity, node.id, a.privateKey))).toEqual({
      refused: "unknown or revoked node",
    });
    await expect(identity.register(token, a.publicKey)).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("rotates without downtime: the old key works until the new token registers a new key", async () => {
    const identity = service();
    const { node, token } = await createNode();
    const oldKey = keyPair();
    await identity.register(token, oldKey.publicKey);
    const rotated = await identity.rotate(node);
    expect(rotated.token).toMatch(/^fcn_/);
    expect(await identity.authenticate(signed(identity, node.id, oldKey.privateKey))).toMatchObject({
      nodeId: node.id,
    });
    // The previous, spent token is no longer this node's token at all.
    await expect(identity.register(token, keyPair().publicKey)).rejects.toMatchObject({ code: "unauthorized" });

    const newKey = keyPair();
    await identity.register(rotated.token, newKey.publicKey);
    expect(disconnected).toEqual([node.id]);
    expect(await identity.authenticate(signed(identity, node.id, newKey.privateKey))).toMatchObject({
      nodeId: node.id,
    });
    expect(await identity.authenticate(signed(identity, node.id, oldKey.privateKey))).toMatchObject({
      refused: expect.stringContaining("bad signature"),
    });
    await expect(identity.register(rotated.token, keyPair().publicKey)).rejects.toMatchObject({
      message: expect.stringContaining("already used"),
    });
  });

  it("a stolen database admits no one: it holds token hashes and public keys, nothing that signs", async () => {
    const original = service();
    const { node, token } = await createNode();
    const a = keyPair();
    await original.register(token, a.publicKey);
    const stolen = (await nodes.get(node.id))!;
    const row = await database.db.selectFrom("nodes").selectAll().where("id", "=", node.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(token);

    // A fresh Core over a copy of the data, with another master key: the real Node still gets in by key…
    const fresh = service(deriveChallengeKey(randomBytes(32)));
    expect(await fresh.authenticate(signed(fresh, node.id, a.privateKey))).toMatchObject({ nodeId: node.id });
    // …and whoever holds only the database cannot: not with a key of their own, not with the hash as a token.
    expect(await fresh.authenticate(signed(fresh, node.id, keyPair().privateKey))).toMatchObject({
      refused: expect.stringContaining("bad signature"),
    });
    await expect(fresh.register(`fcn_${row.token_hash}`, keyPair().publicKey)).rejects.toMatchObject({
      code: "unauthorized",
    });
    expect(stolen.publicKey).toBe(a.publicKey);
  });
});
