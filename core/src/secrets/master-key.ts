import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SecretsError } from "./errors.ts";

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE = "master.key";

export interface LoadMasterKeyOptions {
  /** Value of FABRICORE_MASTER_KEY, if set. */
  env?: string | undefined;
  dataDir: string;
}

export interface MasterKey {
  key: Buffer;
  source: "env" | "file";
  /** The key file, when source is "file". */
  path?: string;
  /** True when this call generated the key file. */
  created: boolean;
}

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  // Buffer.from(…, "base64") silently skips junk, so check the alphabet first.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new SecretsError(
      "invalid_master_key",
      `${where} is not base64 (expected base64 of exactly ${MASTER_KEY_BYTES} bytes)`,
    );
  }
  const key = Buffer.from(trimmed, "base64");
  if (key.length !== MASTER_KEY_BYTES) {
    throw new SecretsError(
      "invalid_master_key",
      `${where} decodes to ${key.length} bytes; it must be base64 of exactly ${MASTER_KEY_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

/**
 * The key every secret at rest is encrypted with. FABRICORE_MASTER_KEY wins; otherwise
 * `<dataDir>/master.key` is generated on first start (mode 0600) and reused, so a single-host
 * install works without configuration. Losing that file loses every stored secret.
 */
export function loadMasterKey(options: LoadMasterKeyOptions): MasterKey {
  if (options.env !== undefined && options.env.trim() !== "") {
    return { key: decodeKey(options.env, "FABRICORE_MASTER_KEY"), source: "env", created: false };
  }
  const path = join(options.dataDir, MASTER_KEY_FILE);
  // 0700 as in data-dir.ts (issue 21.4); a literal here keeps secrets/ free of the Core's files.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    const key = randomBytes(MASTER_KEY_BYTES);
    // Written to a private temp file, then hard-linked into place: link() fails if master.key exists,
    // so two processes starting at once never overwrite each other's key, and no reader ever sees
    // a half-written file.
    const tmp = join(options.dataDir, `.${MASTER_KEY_FILE}.${process.pid}.${randomBytes(6).toString("hex")}`);
    writeFileSync(tmp, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    try {
      chmodSync(tmp, 0o600);
      linkSync(tmp, path);
      return { key, source: "file", path, created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // Another process won the race: use its key.
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) {
    // Tighten rather than refuse: the key is ours, and a copied data dir often loses modes.
    chmodSync(path, 0o600);
  }
  return { key: decodeKey(readFileSync(path, "utf8"), path), source: "file", path, created: false };
}
