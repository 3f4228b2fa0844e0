import { nodeAuthMessage } from "@fabricore/protocol";
import type { NodesRepo } from "../database/index.ts";
import type { FleetNode } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { generateToken, hashToken } from "../secrets/index.ts";
import { checkNonce, issueNonce, isValidPublicKey, verifyNodeSignature } from "./node-auth.ts";
import type { AuthenticatedNode, NodeAuthRefusal, NodeCredentials } from "./node-hub.ts";
import { NodeCloseCode } from "./ws-server-transport.ts";

/** The slice of the hub (or cluster facade) this service uses: drop a Node's live connection. */
export interface NodeDisconnector {
  disconnect(nodeId: string, code?: number, reason?: string): Promise<boolean>;
}

export interface NodeIdentityServiceOptions {
  nodes: NodesRepo;
  hub: NodeDisconnector;
  /** HMAC key of challenge nonces (deriveChallengeKey(masterKey)): every replica must share it. */
  challengeKey: Buffer;
  now?: () => number;
}

/** Expired nonces are purged at most this often per process. */
const PURGE_EVERY_MS = 60_000;

/**
 * Node identity on the Core: enrollment tokens are spent once to register a Node's own Ed25519
 * public key; connections are admitted by a signature over a fresh, single-use challenge. The
 * database holds token hashes and public keys only, so a copy of it admits no Node.
 */
export class NodeIdentityService {
  private readonly nodes: NodesRepo;
  private readonly hub: NodeDisconnector;
  private readonly key: Buffer;
  private readonly now: () => number;
  private lastPurge = 0;

  constructor(options: NodeIdentityServiceOptions) {
    this.nodes = options.nodes;
    this.hub = options.hub;
    this.key = options.challengeKey;
    this.now = options.now ?? Date.now;
  }

  /**
   * Registers `publicKey` for the node the enrollment token belongs to and spends the token. The same
   * token presented again with the SAME key answers the same (the Node may have crashed before
   * saving the answer; the key is public, so this reveals nothing but the node id). Any other key is
   * refused: a token registers one key, once.
   */
  async register(token: string, publicKey: string): Promise<{ nodeId: string; name: string }> {
    if (!isValidPublicKey(publicKey)) throw new CoreError("bad_request", "publicKey is not an Ed25519 public key");
    const tokenHash = hashToken(token);
    const node = await this.nodes.findByTokenHash(tokenHash);
    if (!node) {
      throw new CoreError(
        "unauthorized",
        "unknown enrollment token: it was never issued, was replaced by a newer one, or its node was deleted",
      );
    }
    if (node.tokenUsedAt !== null) {
      if (node.publicKey === publicKey) return { nodeId: node.id, name: node.name };
      throw new CoreError(
        "unauthorized",
        `this enrollment token was already used (at ${node.tokenUsedAt}); issue a new one with POST /api/nodes/${node.id}/rotate`,
      );
    }
    if (!(await this.nodes.registerKey(node.id, tokenHash, publicKey))) {
      // Lost a race with another request spending the same token.
      const now = await this.nodes.get(node.id);
      if (now?.publicKey === publicKey) return { nodeId: node.id, name: node.name };
      throw new CoreError("unauthorized", "this enrollment token was already used");
    }
    // A rotation: a connection still open with the previous key must not outlive it.
    if (node.publicKey !== null && node.publicKey !== publicKey) {
      await this.hub.disconnect(node.id, NodeCloseCode.revoked, "node key replaced").catch(() => false);
    }
    return { nodeId: node.id, name: node.name };
  }

  challenge(): { nonce: string; expiresAt: string } {
    const { nonce, expiresAt } = issueNonce(this.key, this.now());
    return { nonce, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * Admits a connection by its signature. Cheap checks first (the nonce's MAC and age need no
   * database), the signature next, and only then is the nonce recorded as used — so replays are
   * refused, while junk cannot fill the nonce table.
   */
  async authenticate(credentials: NodeCredentials): Promise<AuthenticatedNode | NodeAuthRefusal> {
    if (credentials.kind !== "signed") {
      return {
        refused:
          "a bearer token is not accepted here: enrollment tokens are spent once at POST /api/nodes/enroll, " +
          "then the Node signs a challenge (upgrade the Node)",
      };
    }
    const now = this.now();
    const nonce = checkNonce(this.key, credentials.nonce, now);
    if (!nonce.ok) return { refused: `${nonce.reason}; ask POST /api/nodes/challenge for a fresh one` };
    const node = await this.nodes.get(credentials.nodeId.slice(0, 128));
    if (!node) return { refused: "unknown or revoked node" };
    if (!node.publicKey) return { refused: "this node has not registered a key; enroll it with its token first" };
    const message = nodeAuthMessage(node.id, credentials.nonce, credentials.origin);
    if (!verifyNodeSignature(node.publicKey, message, credentials.signature)) {
      return { refused: `bad signature (for node ${node.id} and origin ${credentials.origin})` };
    }
    if (!(await this.nodes.useNonce(credentials.nonce, new Date(nonce.expiresAt).toISOString()))) {
      return { refused: "this challenge nonce was already used" };
    }
    if (now - this.lastPurge > PURGE_EVERY_MS) {
      this.lastPurge = now;
      void this.nodes.purgeNonces(new Date(now).toISOString()).catch(() => {});
    }
    return { nodeId: node.id, name: node.name };
  }

  /**
   * A new enrollment token for an existing node, shown once. The node's current key keeps working
   * until the Node registers a new key with this token, so rotation needs no downtime; a Node that
   * lost its data directory re-enrolls the same way.
   */
  async rotate(node: FleetNode): Promise<{ id: string; name: string; token: string }> {
    const token = generateToken("fcn_");
    if (!(await this.nodes.replaceToken(node.id, hashToken(token)))) {
      throw new CoreError("not_found", `node ${node.id} not found`);
    }
    return { id: node.id, name: node.name, token };
  }
}
