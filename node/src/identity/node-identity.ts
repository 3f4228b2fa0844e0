import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { chmod, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ChallengeResponse,
  EnrollResponse,
  NODE_AUTH_HEADERS,
  NODE_CHALLENGE_PATH,
  NODE_ENROLL_PATH,
  nodeAuthMessage,
} from "@fabricore/protocol";
import { z } from "zod";
import type { Logger } from "../logger.ts";
import { CoreHttpError, type CoreHttpOptions, postJson } from "./core-http.ts";
import { decideUpdateKey, type HelloChannel } from "./update-key-pin.ts";

export type NodeIdentityErrorCode =
  | "key_file_insecure"
  | "core_not_pinned"
  | "not_enrolled"
  | "enrollment_refused"
  | "certificate_changed"
  | "identity_corrupt";

/** A problem with this Node's own identity; the message says what the operator has to do. */
export class NodeIdentityError extends Error {
  readonly code: NodeIdentityErrorCode;
  constructor(code: NodeIdentityErrorCode, message: string) {
    super(message);
    this.name = "NodeIdentityError";
    this.code = code;
  }
}

/** What the data directory remembers about the enrollment (public facts only; the key is beside it). */
const StoredIdentity = z.object({
  version: z.literal(1),
  nodeId: z.string().min(1),
  name: z.string(),
  /** The Core (its replicas, in cluster mode) this Node enrolled with; any other is refused until
   * the Node is re-enrolled. */
  coreOrigins: z.array(z.string()).min(1),
  /** Per https origin, SHA-256 of the certificate it presented first (at enrollment, or at the first
   * contact with a further replica): a different one is refused. */
  tlsFingerprints: z.record(z.string(), z.string()),
  /** SHA-256 of the enrollment token that registered the key: the same token again is not a re-enrollment. */
  tokenHash: z.string(),
  enrolledAt: z.string(),
  /** The Core's release key (Ed25519, raw, base64url) given at enrollment: --auto-update runs only
   * builds it signed. Pinned like the Core itself: only a re-enrollment (a token) replaces it. */
  updateKey: z.string().optional(),
});
type StoredIdentity = z.infer<typeof StoredIdentity>;

export const KEY_FILE = "node-key.pem";
export const IDENTITY_FILE = "identity.json";
/** A key generated for an enrollment not yet confirmed; reused if the Node restarts mid-enrollment. */
const NEXT_KEY_FILE = "node-key.next.pem";

export interface NodeIdentityOptions {
  dataDir: string;
  /** The Core's http(s)://host:port[/prefix]; several in cluster mode (replicas of one Core). */
  coreUrls: readonly string[];
  /** The enrollment token, when given: needed for the first start and for a re-enrollment. */
  token?: string | undefined;
  /** PEM of a private CA (--ca). */
  ca?: string | undefined;
  logger: Logger;
  timeoutMs?: number | undefined;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

function endpoint(coreUrl: string, path: string): string {
  const url = new URL(coreUrl);
  url.pathname = url.pathname.replace(/\/+$/, "") + path;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** Loads a private key file, refusing one that group or others can read: it is this Node's identity. */
async function loadKey(path: string): Promise<KeyObject | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if ((mode & 0o077) !== 0) {
    throw new NodeIdentityError(
      "key_file_insecure",
      `${path} is readable or writable by group or others (mode ${(mode & 0o777).toString(8)}); ` +
        `it is this Node's private key: run chmod 600 ${path} (or re-enroll if it may have leaked)`,
    );
  }
  try {
    return createPrivateKey(await readFile(path, "utf8"));
  } catch (error) {
    throw new NodeIdentityError("identity_corrupt", `${path} is not a private key: ${(error as Error).message}`);
  }
}

function publicKeyOf(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  if (jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new NodeIdentityError("identity_corrupt", "this Node's key is not an Ed25519 key");
  }
  return jwk.x;
}

async function writePrivate(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600 });
  // The mode above applies only when the file is created, and is masked by the umask.
  await chmod(path, 0o600);
}

/**
 * This Node's identity: its own Ed25519 key pair in the data directory (private key mode 0600), the
 * Core it is pinned to, and the handshake — enroll once with the `fcn_` token, then sign a fresh
 * challenge at every connect (protocol/src/node-auth.ts).
 */
export class NodeIdentity {
  private readonly options: NodeIdentityOptions;
  private readonly origins: string[];
  private stored: StoredIdentity | undefined;
  private key: KeyObject | undefined;
  /** A token that still has to register a key (first start, rotation, moving to another Core). */
  private pendingToken: string | undefined;
  /** What the connection the next hello arrives on proved (checkConnection). */
  private channel: HelloChannel | undefined;
  /** Release keys already refused, said once each. */
  private readonly refusedKeys = new Set<string>();

  private constructor(options: NodeIdentityOptions) {
    this.options = options;
    this.origins = [...new Set(options.coreUrls.map((url) => new URL(url).origin))];
  }

  /**
   * Reads the identity and checks it against the settings. Throws NodeIdentityError for what no
   * retry can fix: an exposed key file, a Core other than the pinned one, no enrollment at all.
   */
  static async open(options: NodeIdentityOptions): Promise<NodeIdentity> {
    const identity = new NodeIdentity(options);
    await identity.load();
    return identity;
  }

  private async load(): Promise<void> {
    const { dataDir, token } = this.options;
    this.key = await loadKey(join(dataDir, KEY_FILE));
    await loadKey(join(dataDir, NEXT_KEY_FILE)); // only for its mode check
    let raw: string | undefined;
    try {
      raw = await readFile(join(dataDir, IDENTITY_FILE), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (raw !== undefined) {
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      const parsed = StoredIdentity.safeParse(json);
      if (!parsed.success) {
        throw new NodeIdentityError(
          "identity_corrupt",
          `${join(dataDir, IDENTITY_FILE)} is damaged; delete it and re-enroll with a new token`,
        );
      }
      this.stored = parsed.data;
    }
    const newToken = token !== undefined && (!this.stored || sha256(token) !== this.stored.tokenHash);
    if (newToken) this.pendingToken = token;
    if (!this.stored) {
      if (!newToken) {
        throw new NodeIdentityError(
          "not_enrolled",
          "this Node is not enrolled yet: start it once with --token (the fcn_ token shown when the node was created)",
        );
      }
      return;
    }
    if (!this.key && !newToken) {
      throw new NodeIdentityError(
        "identity_corrupt",
        `${join(dataDir, KEY_FILE)} is missing; issue a new token (POST /api/nodes/${this.stored.nodeId}/rotate) and start with --token`,
      );
    }
    const stranger = this.origins.find((origin) => !this.stored?.coreOrigins.includes(origin));
    if (stranger !== undefined && !newToken) {
      throw new NodeIdentityError(
        "core_not_pinned",
        `this Node is enrolled with the Core at ${this.stored.coreOrigins.join(", ")} and refuses ${stranger}; ` +
          "to move it, re-enroll: start it with --core and a new enrollment token from that Core",
      );
    }
  }

  get nodeId(): string | undefined {
    return this.stored?.nodeId;
  }

  /** The release key pinned at enrollment, when the Core gave one. */
  get updateKey(): string | undefined {
    return this.stored?.updateKey;
  }

  /**
   * The WebSocket dialled to `coreUrl` presented `fingerprint` (undefined: plain ws://, or the runtime
   * did not tell). A certificate other than the one pinned for that origin is refused, as on the
   * challenge's connection; whether it was the pinned one decides if the hello's release key may be
   * pinned (adoptUpdateKey).
   */
  checkConnection(coreUrl: string, fingerprint: string | undefined): void {
    const origin = new URL(coreUrl).origin;
    const pinned = this.stored?.tlsFingerprints[origin];
    this.channel = undefined;
    if (pinned !== undefined && fingerprint !== undefined && fingerprint !== pinned) {
      throw new NodeIdentityError(
        "certificate_changed",
        `the Core's WebSocket at ${origin} presented certificate ${fingerprint}, not the pinned ${pinned}`,
      );
    }
    this.channel = { coreUrl, certificatePinned: pinned !== undefined && fingerprint === pinned };
  }

  /**
   * The release key a hello answer carried (update-key-pin.ts): pinned when this Node has none and
   * the connection is the enrolled Core's; a pinned key is never replaced; a different one is
   * refused and logged (once per key).
   */
  async adoptUpdateKey(offered: string | undefined): Promise<"pinned" | "unchanged" | "refused"> {
    const { logger } = this.options;
    const stored = this.stored;
    const decision = decideUpdateKey(stored?.updateKey, offered, this.channel);
    if (decision.action === "none" || !stored || offered === undefined) return "unchanged";
    if (decision.action === "refuse") {
      if (!this.refusedKeys.has(offered)) {
        this.refusedKeys.add(offered);
        if (decision.reason === "different_key") {
          logger.error(
            { pinned: stored.updateKey, offered, nodeId: stored.nodeId },
            "the Core sent a release key other than the pinned one; keeping the pinned key " +
              "(updates signed by the other are refused; a re-enrollment replaces the pinned key)",
          );
        } else {
          logger.warn(
            { offered, core: this.channel?.coreUrl ?? null },
            "not pinning the Core's release key: this connection does not prove it is the enrolled Core " +
              "(plain http across the network, or its certificate was not checked); re-enroll over https to pin it",
          );
        }
      }
      return "refused";
    }
    const updated: StoredIdentity = { ...stored, updateKey: offered };
    await this.save(updated);
    this.stored = updated;
    logger.info(
      { updateKey: offered, core: this.channel?.coreUrl },
      "pinned the Core's release key on first sight, over the authenticated connection",
    );
    return "pinned";
  }

  private http(signal?: AbortSignal): CoreHttpOptions {
    return { ca: this.options.ca, timeoutMs: this.options.timeoutMs, signal };
  }

  /**
   * Registers a key with the pending token. The new key is written (as the "next" key) before the
   * Core is asked, and reused if this Node restarts before it heard the answer, so an enrollment
   * interrupted at any point can be completed with the same token.
   */
  private async enroll(coreUrl: string, token: string, signal?: AbortSignal): Promise<void> {
    const { dataDir, logger } = this.options;
    const nextPath = join(dataDir, NEXT_KEY_FILE);
    let next = await loadKey(nextPath);
    if (!next) {
      next = generateKeyPairSync("ed25519").privateKey;
      await writePrivate(nextPath, next.export({ type: "pkcs8", format: "pem" }).toString());
    }
    const publicKey = publicKeyOf(next);
    let answer: Awaited<ReturnType<typeof postJson>>;
    try {
      answer = await postJson(endpoint(coreUrl, NODE_ENROLL_PATH), { token, publicKey }, this.http(signal));
    } catch (error) {
      if (!(error instanceof CoreHttpError) || error.status >= 500) throw error;
      // The Core refused the token. A Node that is already enrolled here keeps its key and carries on.
      const pinned = this.stored?.coreOrigins;
      if (this.key && pinned && this.origins.every((origin) => pinned.includes(origin))) {
        logger.error(
          { status: error.status, reason: error.message },
          "the Core refused the new enrollment token; keeping this Node's current key",
        );
        this.pendingToken = undefined;
        await rm(nextPath, { force: true });
        return;
      }
      throw new NodeIdentityError("enrollment_refused", `the Core refused the enrollment token: ${error.message}`);
    }
    const enrolled = EnrollResponse.parse(answer.body);
    await rename(nextPath, join(dataDir, KEY_FILE));
    const stored: StoredIdentity = {
      version: 1,
      nodeId: enrolled.nodeId,
      name: enrolled.name,
      coreOrigins: this.origins,
      tlsFingerprints: answer.fingerprint ? { [new URL(coreUrl).origin]: answer.fingerprint } : {},
      tokenHash: sha256(token),
      enrolledAt: new Date().toISOString(),
      ...(enrolled.updateKey !== undefined && { updateKey: enrolled.updateKey }),
    };
    if (this.stored?.updateKey !== undefined && this.stored.updateKey !== stored.updateKey) {
      logger.warn(
        { previous: this.stored.updateKey, now: stored.updateKey ?? null },
        "re-enrolled: the pinned update key changed with it",
      );
    }
    await this.save(stored);
    logger.info(
      { nodeId: stored.nodeId, name: stored.name, core: stored.coreOrigins, tlsFingerprints: stored.tlsFingerprints },
      this.stored ? "re-enrolled with a new key" : "enrolled: this Node's key is registered with the Core",
    );
    this.stored = stored;
    this.key = next;
    this.pendingToken = undefined;
  }

  private async save(stored: StoredIdentity): Promise<void> {
    const path = join(this.options.dataDir, IDENTITY_FILE);
    await writePrivate(`${path}.tmp`, `${JSON.stringify(stored, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }

  /**
   * The headers of one signed WebSocket upgrade to the Core at `coreUrl` (one of the configured
   * ones): enrolls first when a token is pending, then asks that Core for a challenge (checking its
   * certificate against the pinned one) and signs it together with that Core's origin.
   */
  async authHeaders(coreUrl: string, signal?: AbortSignal): Promise<Record<string, string>> {
    const origin = new URL(coreUrl).origin;
    if (!this.origins.includes(origin)) throw new Error(`${origin} is not one of this Node's Core URLs`);
    if (this.pendingToken !== undefined) await this.enroll(coreUrl, this.pendingToken, signal);
    const stored = this.stored;
    const key = this.key;
    if (!stored || !key) throw new NodeIdentityError("not_enrolled", "this Node is not enrolled");
    const answer = await postJson(endpoint(coreUrl, NODE_CHALLENGE_PATH), {}, this.http(signal));
    const pinned = stored.tlsFingerprints[origin];
    if (pinned !== undefined && answer.fingerprint !== pinned) {
      throw new NodeIdentityError(
        "certificate_changed",
        `the Core at ${origin} presented certificate ${answer.fingerprint ?? "(none: plain http)"}, not the pinned ` +
          `${pinned}; if the Core's certificate was replaced on purpose, re-enroll this Node ` +
          `with a new token (POST /api/nodes/${stored.nodeId}/rotate)`,
      );
    }
    if (pinned === undefined && answer.fingerprint !== undefined) {
      // A replica first reached after enrollment: its certificate is pinned from now on.
      stored.tlsFingerprints[origin] = answer.fingerprint;
      await this.save(stored);
    }
    const { nonce } = ChallengeResponse.parse(answer.body);
    const signature = sign(null, Buffer.from(nodeAuthMessage(stored.nodeId, nonce, origin), "utf8"), key);
    return {
      [NODE_AUTH_HEADERS.nodeId]: stored.nodeId,
      [NODE_AUTH_HEADERS.nonce]: nonce,
      [NODE_AUTH_HEADERS.signature]: signature.toString("base64url"),
    };
  }
}
