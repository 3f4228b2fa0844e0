import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { nodeUpdateMessage } from "@fabricore/protocol";

/**
 * The Ed25519 key this Core signs Node builds with (self-update, docs/NODE-LIFECYCLE.md). A PEM
 * file, 0600: `FABRICORE_NODE_RELEASE_KEY`, else `DATA_DIR/node-release-key.pem`, created at the
 * first start. Nodes pin its public key at enrollment, so the file must outlive Core upgrades and be
 * the same for every replica of a cluster (point FABRICORE_NODE_RELEASE_KEY at one shared file). Not
 * derived from the master key: rotating that key must not make every Node refuse its updates.
 */
export class ReleaseKey {
  readonly path: string;
  readonly #key: KeyObject;
  /** The raw 32-byte public key, base64url (what the enrollment answer and GET /api/nodes/update-key carry). */
  readonly publicKey: string;

  private constructor(path: string, key: KeyObject) {
    this.path = path;
    this.#key = key;
    const jwk = createPublicKey(key).export({ format: "jwk" });
    if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new Error(`${path} is not an Ed25519 private key`);
    this.publicKey = jwk.x;
  }

  /** Reads the key file, or creates it (and its directory) when it does not exist. */
  static open(path: string): ReleaseKey {
    let pem: string;
    try {
      const mode = statSync(path).mode;
      if ((mode & 0o077) !== 0) {
        throw new Error(
          `${path} (the Node release key) is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
        );
      }
      pem = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
      // Written whole under another name and renamed: a crash never leaves half a key that Nodes pinned.
      const temp = `${path}.${process.pid}.tmp`;
      writeFileSync(temp, pem, { mode: 0o600 });
      chmodSync(temp, 0o600);
      renameSync(temp, path);
    }
    return new ReleaseKey(path, createPrivateKey(pem));
  }

  /** base64url signature of one build (protocol nodeUpdateMessage). */
  sign(platform: string, version: string, sha256: string): string {
    return sign(null, Buffer.from(nodeUpdateMessage(platform, version, sha256), "utf8"), this.#key).toString(
      "base64url",
    );
  }
}
