import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Repositories } from "../database/index.ts";
import { channelSecretAad } from "../database/repos/channels-repo.ts";
import { webhookSecretAad } from "../database/repos/jobs-repo.ts";
import { providerApiKeyAad, providerHeadersAad } from "../database/repos/providers-repo.ts";
import { secretAad } from "../database/repos/secrets-repo.ts";
import { SecretsError } from "../secrets/errors.ts";
import {
  decodeMasterKey,
  envelopeKeyVersion,
  keyFingerprint,
  NEXT_MASTER_KEY_FILE,
  readNextMasterKey,
} from "../secrets/key-ring.ts";
import { MASTER_KEY_FILE } from "../secrets/master-key.ts";
import { SecretBox } from "../secrets/secret-box.ts";

export interface RotateKeyOptions {
  repos: Pick<Repositories, "secrets" | "providers" | "jobs" | "masterKeys"> & Partial<Pick<Repositories, "channels">>;
  dataDir: string;
  /** FABRICORE_MASTER_KEY when set; otherwise the key is read from `dataDir/master.key`. */
  envMasterKey?: string | undefined;
  /** base64; undefined resumes the rotation recorded in `dataDir/master.key.next`. */
  newKey?: string | undefined;
  /** Called after each value is re-encrypted (tests interrupt the rotation here). */
  onProgress?: (done: number, total: number) => void;
}

export interface RotateKeyResult {
  fromVersion: number;
  toVersion: number;
  /** Values re-encrypted by this call (a resumed rotation counts only what was left). */
  reencrypted: number;
  /** Values already under the new key (done by an interrupted earlier call). */
  alreadyDone: number;
  /** True when the key came from the environment: the operator must now set it to the new key. */
  envMustChange: boolean;
}

/**
 * Re-encrypts every secret, provider API key, webhook secret and channel secret under a new master key, as version
 * (current + 1). Resumable: the new key is written to `master.key.next` (0600) before anything is
 * re-encrypted, each value's envelope names its key version, so a second call skips what is done
 * and continues; while `master.key.next` exists the Core loads both keys, so nothing is unreadable
 * in between. Each value is replaced only if unchanged since it was read (a concurrent write wins).
 * Only when every value is under the new key does `master.key` become the new key and the old
 * version get retired. Run it while the Core is stopped (a running Core holds only the old key).
 */
export async function rotateMasterKey(options: RotateKeyOptions): Promise<RotateKeyResult> {
  const { repos, dataDir } = options;
  let reencrypted = 0;
  let alreadyDone = 0;
  const fromEnv = options.envMasterKey !== undefined && options.envMasterKey.trim() !== "";
  const keyPath = join(dataDir, MASTER_KEY_FILE);
  if (!fromEnv && !existsSync(keyPath)) {
    throw new SecretsError("wrong_master_key", `no master key: set FABRICORE_MASTER_KEY or provide ${keyPath}`);
  }
  const oldKey = fromEnv
    ? decodeMasterKey(options.envMasterKey!, "FABRICORE_MASTER_KEY")
    : decodeMasterKey(readFileSync(keyPath, "utf8"), keyPath);
  const pending = readNextMasterKey(dataDir);
  const requested = options.newKey ? decodeMasterKey(options.newKey, "the new master key") : undefined;
  if (pending && requested && !pending.equals(requested)) {
    throw new SecretsError(
      "wrong_master_key",
      `a rotation to a different key is under way (${NEXT_MASTER_KEY_FILE}); finish it first (run rotate-key without a new key)`,
    );
  }
  const newKey = requested ?? pending;
  if (!newKey)
    throw new SecretsError("invalid_master_key", "give the new key: --new-key <base64> or FABRICORE_NEW_MASTER_KEY");
  if (newKey.equals(oldKey)) {
    if (pending) return finish();
    throw new SecretsError("invalid_master_key", "the new master key is the current one");
  }
  if (!pending) writePrivate(join(dataDir, NEXT_MASTER_KEY_FILE), newKey);

  const known = await repos.masterKeys.list();
  const old = known.find((k) => k.fingerprint === keyFingerprint(oldKey));
  if (!old) throw new SecretsError("wrong_master_key", "the current master key is not one this database knows");
  let target = known.find((k) => k.fingerprint === keyFingerprint(newKey));
  if (!target) {
    const version = Math.max(...known.map((k) => k.version)) + 1;
    await repos.masterKeys.add(version, keyFingerprint(newKey));
    target = (await repos.masterKeys.list()).find((k) => k.version === version)!;
  }
  const previous = known
    .filter((k) => k.version !== target.version && k.fingerprint === old.fingerprint)
    .map((k) => ({ version: k.version, key: oldKey }));
  const box = new SecretBox({ current: { version: target.version, key: newKey }, previous });

  type Item = { ciphertext: string; aad: string; replace: (next: string) => Promise<boolean> };
  const items: Item[] = [
    ...(await repos.secrets.listSealed()).map((s) => ({
      ciphertext: s.ciphertext,
      aad: secretAad(s.id),
      replace: (next: string) => repos.secrets.replaceSealed(s.id, s.ciphertext, next, target.version),
    })),
    ...(await repos.providers.listSealedApiKeys()).map((p) => ({
      ciphertext: p.ciphertext,
      aad: providerApiKeyAad(p.id),
      replace: (next: string) => repos.providers.replaceSealedApiKey(p.id, p.ciphertext, next),
    })),
    ...(await repos.providers.listSealedHeaders()).map((p) => ({
      ciphertext: p.ciphertext,
      aad: providerHeadersAad(p.id),
      replace: (next: string) => repos.providers.replaceSealedHeaders(p.id, p.ciphertext, next),
    })),
    ...(await repos.jobs.listSealedWebhookSecrets()).map((j) => ({
      ciphertext: j.ciphertext,
      aad: webhookSecretAad(j.id),
      replace: (next: string) => repos.jobs.replaceSealedWebhookSecret(j.id, j.ciphertext, next),
    })),
    ...((await repos.channels?.listSealedSecrets()) ?? []).map((c) => ({
      ciphertext: c.ciphertext,
      aad: channelSecretAad(c.id),
      replace: (next: string) => repos.channels!.replaceSealedSecret(c.id, c.ciphertext, next),
    })),
  ];
  for (const item of items) {
    if (envelopeKeyVersion(item.ciphertext) === target.version) {
      alreadyDone += 1;
      continue;
    }
    // A value that changed since it was listed was written by a Core holding the new key or was
    // deleted; either way it no longer needs this call.
    await item.replace(box.seal(box.open(item.ciphertext, item.aad), item.aad));
    reencrypted += 1;
    options.onProgress?.(reencrypted, items.length - alreadyDone);
  }
  return finish();

  async function finish(): Promise<RotateKeyResult> {
    const all = await repos.masterKeys.list();
    const to = all.find((k) => k.fingerprint === keyFingerprint(newKey!))!;
    const from = all.find((k) => k.fingerprint === keyFingerprint(oldKey));
    // master.key first, then the .next file: a crash in between leaves both holding the new key.
    if (!fromEnv) writePrivate(keyPath, newKey!);
    rmSync(join(dataDir, NEXT_MASTER_KEY_FILE), { force: true });
    for (const k of all) if (k.version !== to.version) await repos.masterKeys.retire(k.version);
    return {
      fromVersion: from?.version ?? to.version,
      toVersion: to.version,
      reencrypted,
      alreadyDone,
      envMustChange: fromEnv,
    };
  }
}

/** Atomic replace: a private temp file renamed over the target, so no reader sees half a key. */
function writePrivate(path: string, key: Buffer): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}
