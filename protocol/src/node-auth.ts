import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";

/*
 * How a Node proves who it is (docs/SECURITY.md "Node identity and Node policy"). The enrollment
 * token (`fcn_…`) is presented ONCE, to register the Node's own Ed25519 public key; every later
 * connection signs a fresh single-use challenge instead, so the Core keeps only public keys.
 *
 *   1. POST /api/nodes/enroll    {token, publicKey}          → {nodeId, name}      (first start, rotation)
 *   2. POST /api/nodes/challenge {}                          → {nonce, expiresAt}  (every connect)
 *   3. GET  /api/nodes/connect   X-FabriCore-Node-Id / -Nonce / -Signature         (WebSocket upgrade)
 */

export const NODE_ENROLL_PATH = "/api/nodes/enroll";
export const NODE_CHALLENGE_PATH = "/api/nodes/challenge";

/** Request headers of the signed WebSocket upgrade (lower case, as node:http presents them). */
export const NODE_AUTH_HEADERS = {
  nodeId: "x-fabricore-node-id",
  nonce: "x-fabricore-nonce",
  signature: "x-fabricore-signature",
} as const;

/** How long a challenge nonce is valid; each is accepted once. */
export const NODE_NONCE_TTL_MS = 60_000;

const base64url = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, "must be base64url");

/** An Ed25519 public key: the 32 raw bytes, base64url (a JWK's `x`). */
export const NodePublicKey = lazySchema(() => base64url(43, 43));
/** An Ed25519 signature: 64 raw bytes, base64url. */
export const NodeSignature = lazySchema(() => base64url(86, 86));
export const NodeNonce = lazySchema(() => base64url(16, 128));

export const EnrollRequest = lazySchema(() =>
  z.object({
    token: z.string().regex(/^fcn_\S+$/, "must be an enrollment token (fcn_…)"),
    publicKey: NodePublicKey,
  }),
);
export type EnrollRequest = z.infer<typeof EnrollRequest>;

export const EnrollResponse = lazySchema(() =>
  z.object({
    nodeId: z.string(),
    name: z.string(),
    /** The Core's release key (Ed25519, raw, base64url): the Node pins it and runs only updates it signed. */
    updateKey: NodePublicKey.optional(),
  }),
);
export type EnrollResponse = z.infer<typeof EnrollResponse>;

export const ChallengeResponse = lazySchema(() => z.object({ nonce: NodeNonce, expiresAt: z.string() }));
export type ChallengeResponse = z.infer<typeof ChallengeResponse>;

/**
 * The exact bytes a Node signs to open a connection. The origin is the Core the Node believes it is
 * talking to (`http(s)://host:port`), so a signature made for one Core is worthless at another.
 */
export function nodeAuthMessage(nodeId: string, nonce: string, origin: string): string {
  return `fabricore-node-auth:v1:${nodeId}:${nonce}:${origin}`;
}
