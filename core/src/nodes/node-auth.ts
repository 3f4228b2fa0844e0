import { createHmac, createPublicKey, hkdfSync, randomBytes, timingSafeEqual, verify } from "node:crypto";
import { NODE_NONCE_TTL_MS, NodePublicKey } from "@fabricore/protocol";

/*
 * The Core's half of the Node handshake (protocol/src/node-auth.ts). Challenge nonces are
 * stateless until used: `expiry ‖ random ‖ HMAC(key, expiry ‖ random)`, so the unauthenticated
 * challenge route writes nothing (no storage to flood) and any replica holding the same master key
 * can check a nonce another replica issued. Single use is enforced where it matters — after a valid
 * signature — by recording the nonce (NodesRepo.useNonce).
 */

const NONCE_RANDOM_BYTES = 16;
const NONCE_MAC_BYTES = 16;
const NONCE_BYTES = 8 + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES;

/** A key for nonce MACs only, derived from the master key so every replica agrees on it. */
export function deriveChallengeKey(masterKey: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", masterKey, Buffer.alloc(0), "fabricore node challenge v1", 32));
}

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac("sha256", key)
    .update("fabricore-node-nonce:v1:")
    .update(payload)
    .digest()
    .subarray(0, NONCE_MAC_BYTES);
}

export function issueNonce(key: Buffer, now: number, ttlMs = NODE_NONCE_TTL_MS): { nonce: string; expiresAt: number } {
  const expiresAt = now + ttlMs;
  const payload = Buffer.alloc(8 + NONCE_RANDOM_BYTES);
  payload.writeBigUInt64BE(BigInt(expiresAt));
  randomBytes(NONCE_RANDOM_BYTES).copy(payload, 8);
  return { nonce: Buffer.concat([payload, mac(key, payload)]).toString("base64url"), expiresAt };
}

export type NonceCheck = { ok: true; expiresAt: number } | { ok: false; reason: string };

/** Was this nonce issued by a Core with `key`, and is it still fresh? (Not whether it was used.) */
export function checkNonce(key: Buffer, nonce: string, now: number): NonceCheck {
  const raw = Buffer.from(nonce, "base64url");
  if (raw.length !== NONCE_BYTES || raw.toString("base64url") !== nonce)
    return { ok: false, reason: "malformed nonce" };
  const payload = raw.subarray(0, 8 + NONCE_RANDOM_BYTES);
  if (!timingSafeEqual(raw.subarray(payload.length), mac(key, payload)))
    return { ok: false, reason: "nonce not issued by this Core" };
  const expiresAt = Number(payload.readBigUInt64BE());
  if (expiresAt <= now) return { ok: false, reason: "nonce expired" };
  return { ok: true, expiresAt };
}

/** Verifies an Ed25519 signature; false (never a throw) for anything malformed. */
export function verifyNodeSignature(publicKey: string, message: string, signature: string): boolean {
  if (!NodePublicKey.safeParse(publicKey).success) return false;
  try {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
    const sig = Buffer.from(signature, "base64url");
    if (sig.length !== 64) return false;
    return verify(null, Buffer.from(message, "utf8"), key, sig);
  } catch {
    return false;
  }
}

/** Is this a usable Ed25519 public key? Checked at enrollment so a typo cannot lock a Node out later. */
export function isValidPublicKey(publicKey: string): boolean {
  if (!NodePublicKey.safeParse(publicKey).success) return false;
  try {
    createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
    return true;
  } catch {
    return false;
  }
}
