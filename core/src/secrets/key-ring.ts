import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MasterKeysRepo } from "../database/repos/master-keys-repo.ts";
import { SecretsError } from "./errors.ts";
import { MASTER_KEY_BYTES } from "./master-key.ts";
import { SecretBox, type SecretBoxKey } from "./secret-box.ts";

/** Written by `rotate-key` before it re-encrypts anything: while it exists a rotation is under way
 * (or was interrupted), and the Core loads it too so values already moved to it still open. */
export const NEXT_MASTER_KEY_FILE = "master.key.next";

/** Identifies a key without revealing it: HMAC-SHA256 keyed by the key itself over a constant. */
export function keyFingerprint(key: Buffer): string {
  return createHmac("sha256", key).update("fabricore master key fingerprint v1").digest("hex");
}

export function decodeMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, "base64") : Buffer.alloc(0);
  if (key.length !== MASTER_KEY_BYTES) {
    throw new SecretsError("invalid_master_key", `${where} must be base64 of exactly ${MASTER_KEY_BYTES} bytes`);
  }
  return key;
}

/** The key a rotation is moving to, if one is under way in `dataDir`. */
export function readNextMasterKey(dataDir: string): Buffer | undefined {
  const path = join(dataDir, NEXT_MASTER_KEY_FILE);
  return existsSync(path) ? decodeMasterKey(readFileSync(path, "utf8"), path) : undefined;
}

/**
 * The SecretBox for a Core: every loaded key (the master key, and the next key of an interrupted
 * rotation) with the version the database knows it by. A fresh database registers the master key as
 * version 1. A key the database does not know, or one a finished rotation retired, stops the Core
 * here with a clear message instead of failing later on the first secret it opens.
 */
export async function openKeyRing(repo: MasterKeysRepo, master: Buffer, next?: Buffer): Promise<SecretBox> {
  let known = await repo.list();
  if (known.length === 0) {
    await repo.add(1, keyFingerprint(master));
    known = await repo.list();
  }
  const loaded: SecretBoxKey[] = [];
  for (const [key, what] of [
    [master, "the master key (FABRICORE_MASTER_KEY or master.key)"],
    ...(next ? [[next, NEXT_MASTER_KEY_FILE] as const] : []),
  ] as const) {
    const record = known.find((k) => k.fingerprint === keyFingerprint(key));
    if (!record) {
      throw new SecretsError(
        "wrong_master_key",
        `${what} is not a key this database was encrypted with; restore the right key (secrets cannot be read without it)`,
      );
    }
    if (record.retiredAt && !next) {
      throw new SecretsError(
        "wrong_master_key",
        `${what} is key version ${record.version}, retired by rotate-key at ${record.retiredAt}; start with the new key`,
      );
    }
    if (!loaded.some((k) => k.version === record.version)) loaded.push({ version: record.version, key });
  }
  loaded.sort((a, b) => b.version - a.version);
  const [current, ...previous] = loaded;
  return new SecretBox({ current: current!, previous });
}

/** The key version an envelope (`v1:<version>:…`) was sealed with; undefined if it is not one. */
export function envelopeKeyVersion(envelope: string): number | undefined {
  const match = /^v1:(\d{1,9}):/.exec(envelope);
  return match?.[1] ? Number(match[1]) : undefined;
}
