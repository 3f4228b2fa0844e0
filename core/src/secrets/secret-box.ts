import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { SecretsError } from "./errors.ts";

const ALGORITHM = "aes-256-gcm";
const NONCE_BYTES = 12; // 96 bits: GCM's native nonce size, random per value
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const FORMAT = "v1";

export interface SecretBoxKey {
  /** Stored in each envelope so a later key rotation can still open older values. */
  version: number;
  key: Buffer;
}

export interface SecretBoxOptions {
  /** The key new values are sealed with. */
  current: SecretBoxKey;
  /** Older keys, only for opening. */
  previous?: SecretBoxKey[];
}

/**
 * Authenticated encryption of values at rest. Envelope: `v1:<keyVersion>:<base64(nonce|ciphertext|tag)>`.
 * The associated data (`aad`) is not stored: the caller passes the value's place, e.g.
 * `providers:<id>:api_key`, on both seal and open, so a ciphertext copied into another row or
 * field fails authentication instead of decrypting as someone else's secret.
 */
export class SecretBox {
  private readonly current: SecretBoxKey;
  private readonly keys = new Map<number, Buffer>();

  constructor(options: SecretBoxOptions) {
    for (const k of [options.current, ...(options.previous ?? [])]) {
      if (k.key.length !== KEY_BYTES) {
        throw new SecretsError(
          "invalid_master_key",
          `key version ${k.version} is ${k.key.length} bytes, expected ${KEY_BYTES}`,
        );
      }
      if (!Number.isInteger(k.version) || k.version < 1) {
        throw new SecretsError("invalid_master_key", `key version must be a positive integer, got ${k.version}`);
      }
      this.keys.set(k.version, k.key);
    }
    this.current = options.current;
  }

  get keyVersion(): number {
    return this.current.version;
  }

  seal(plaintext: string, aad: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return `${FORMAT}:${this.current.version}:${Buffer.concat([nonce, body, tag]).toString("base64")}`;
  }

  open(envelope: string, aad: string): string {
    const match = /^v1:(\d{1,9}):([A-Za-z0-9+/]*={0,2})$/.exec(envelope);
    if (!match?.[1] || match[2] === undefined)
      throw new SecretsError("invalid_envelope", "not a FabriCore secret envelope");
    const version = Number(match[1]);
    const key = this.keys.get(version);
    if (!key)
      throw new SecretsError(
        "unknown_key_version",
        `secret was sealed with key version ${version}, which is not loaded`,
      );
    const raw = Buffer.from(match[2], "base64");
    if (raw.length < NONCE_BYTES + TAG_BYTES)
      throw new SecretsError("invalid_envelope", "secret envelope is too short");
    const nonce = raw.subarray(0, NONCE_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
    } catch (cause) {
      // Deliberately one message for every failure: it must not reveal which part was wrong.
      throw new SecretsError(
        "decrypt_failed",
        `cannot decrypt secret for ${aad}: tampered, moved, or wrong master key`,
        {
          cause,
        },
      );
    }
  }
}
