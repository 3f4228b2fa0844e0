import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";
import { NodePublicKey } from "./node-auth.ts";

/*
 * Node self-update (docs/NODE-LIFECYCLE.md "Self-update"). The Core advertises the Node version it
 * serves in its hello answer; a Node started with --auto-update downloads
 * GET /api/nodes/binary/<platform>, and runs it only when its SHA-256 matches and the Core's release
 * key — pinned by the Node at enrollment — signed exactly this platform, version and digest.
 */

/** Public: the Ed25519 public key Node builds are signed with (the enrollment answer carries it too). */
export const NODE_UPDATE_KEY_PATH = "/api/nodes/update-key";

/** Response header of GET /api/nodes/binary/:platform: base64url Ed25519 signature of nodeUpdateMessage. */
export const NODE_UPDATE_SIGNATURE_HEADER = "x-fabricore-update-signature";

export const NodeUpdateKeyResponse = lazySchema(() => z.object({ publicKey: NodePublicKey }));
export type NodeUpdateKeyResponse = z.infer<typeof NodeUpdateKeyResponse>;

/**
 * The exact bytes the release key signs for one build. Platform and version are inside, so a signed
 * old build cannot be replayed as a newer version, nor an arm64 build as an x64 one.
 */
export function nodeUpdateMessage(platform: string, version: string, sha256: string): string {
  return `fabricore-node-update\n${platform}\n${version}\n${sha256.toLowerCase()}\n`;
}

/**
 * Core → Node `fabricore/node/update` (staged rollout, docs/NODE-LIFECYCLE.md "Staged rollout"): the
 * Core offers this version to a Node that is already connected (its batch started after the hello).
 * A Node with --auto-update treats it as the hello's `nodeVersion`; any other Node ignores it.
 */
export const NodeUpdateOfferParams = lazySchema(() => z.object({ version: z.string().min(1).max(64) }));
export type NodeUpdateOfferParams = z.infer<typeof NodeUpdateOfferParams>;

/** Why a Node did not run an offered build. `bad_signature`, `digest_mismatch`, … come from
 * the Node's checks; `download_failed` is anything else before the swap. */
export const NODE_UPDATE_OUTCOMES = ["updated", "refused", "rolled_back", "failed"] as const;
export type NodeUpdateOutcomeKind = (typeof NODE_UPDATE_OUTCOMES)[number];

/**
 * Node → Core `fabricore/node/update-result`: what became of an update. `updated` from the new
 * version once it reached the Core; `refused` (with the check's `code`) and `failed` from the
 * version that keeps running; `rolled_back` from the restored previous version on its next connect
 * (the watchdog or the new version itself put it back, the reason is in DATA_DIR/update.json).
 */
export const NodeUpdateResultParams = lazySchema(() =>
  z.object({
    outcome: z.enum(NODE_UPDATE_OUTCOMES),
    from: z.string().max(64),
    to: z.string().max(64),
    code: z.string().max(64).optional(),
    reason: z.string().max(1024).optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    /** When it happened on the Node (ISO 8601). */
    at: z.string().max(40),
  }),
);
export type NodeUpdateResultParams = z.infer<typeof NodeUpdateResultParams>;
