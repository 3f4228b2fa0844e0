import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { hashToken } from "../secrets/tokens.ts";
import { NodesRepo } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

// Node identity storage on every dialect: one enrollment token registers one key, nonces are used once.
describeEachDialect("nodes: keys and nonces", (get) => {
  it("registers a key only with the node's unspent token, atomically", async () => {
    const nodes = new NodesRepo(get().db);
    const node = await nodes.create({ name: `n-${randomBytes(4).toString("hex")}`, tokenHash: hashToken("fcn_a") });
    expect(node).toMatchObject({ publicKey: null, tokenUsedAt: null });
    expect(await nodes.registerKey(node.id, hashToken("fcn_other"), "k1")).toBe(false);
    const racing = await Promise.all([
      nodes.registerKey(node.id, hashToken("fcn_a"), "k1"),
      nodes.registerKey(node.id, hashToken("fcn_a"), "k2"),
    ]);
    expect(racing.filter(Boolean)).toHaveLength(1);
    const registered = (await nodes.get(node.id))!;
    expect(registered.publicKey).toBe(racing[0] ? "k1" : "k2");
    expect(registered.tokenUsedAt).not.toBeNull();

    // Rotation: a new token, the key untouched until the token registers another.
    expect(await nodes.replaceToken(node.id, hashToken("fcn_b"))).toBe(true);
    expect(await nodes.get(node.id)).toMatchObject({ publicKey: registered.publicKey, tokenUsedAt: null });
    expect(await nodes.registerKey(node.id, hashToken("fcn_b"), "k3")).toBe(true);
    expect((await nodes.get(node.id))?.publicKey).toBe("k3");
    expect(await nodes.findByTokenHash(hashToken("fcn_a"))).toBeUndefined();
    await nodes.delete(node.id);
  });

  it("accepts a nonce once and forgets expired ones", async () => {
    const nodes = new NodesRepo(get().db);
    const nonce = randomBytes(16).toString("hex");
    expect(await nodes.useNonce(nonce, "2030-01-01T00:01:00.000Z")).toBe(true);
    expect(await nodes.useNonce(nonce, "2030-01-01T00:01:00.000Z")).toBe(false);
    await nodes.purgeNonces("2030-01-01T00:02:00.000Z");
    expect(await nodes.useNonce(nonce, "2030-01-01T00:03:00.000Z")).toBe(true);
    await nodes.purgeNonces("2030-01-01T00:04:00.000Z");
  });
});
