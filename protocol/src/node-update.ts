import { z } from "zod";
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

export const NodeUpdateKeyResponse = z.object({ publicKey: NodePublicKey });
export type NodeUpdateKeyResponse = z.infer<typeof NodeUpdateKeyResponse>;

/**
 * The exact bytes the release key signs for one build. Platform and version are inside, so a signed
 * old build cannot be replayed as a newer version, nor an arm64 build as an x64 one.
 */
export function nodeUpdateMessage(platform: string, version: string, sha256: string): string {
  return `fabricore-node-update\n${platform}\n${version}\n${sha256.toLowerCase()}\n`;
}
