import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Prefixes make a leaked token recognisable (secret scanners, logs): Node enrollment, API, session. */
export type TokenPrefix = "fcn_" | "fct_" | "fcs_";

/** `<prefix>` + 256 random bits, base64url. */
export function generateToken(prefix: TokenPrefix | (string & {})): string {
  return `${prefix}${randomBytes(32).toString("base64url")}`;
}

/** SHA-256 hex. Tokens have 256 bits of entropy, so a fast unsalted hash is enough to store them. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Constant-time comparison of two hex strings; false (not an exception) on length or format mismatch. */
export function timingSafeEqualHex(a: string, b: string): boolean {
  if (!/^[0-9a-fA-F]*$/.test(a) || !/^[0-9a-fA-F]*$/.test(b) || a.length % 2 !== 0) return false;
  const x = Buffer.from(a.toLowerCase(), "hex");
  const y = Buffer.from(b.toLowerCase(), "hex");
  // Length is not secret (it is the digest size); only the content comparison must be constant-time.
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

export function hmacSha256Hex(secret: string | Buffer, data: string | Buffer): string {
  return createHmac("sha256", secret).update(data).digest("hex");
}

/**
 * GitHub-style webhook check: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 * `rawBody` must be the bytes as received; a re-serialised JSON body does not match.
 */
export function verifyGithubSignature(
  secret: string,
  rawBody: string | Buffer,
  header: string | undefined | null,
): boolean {
  if (!header) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match?.[1]) return false;
  return timingSafeEqualHex(hmacSha256Hex(secret, rawBody), match[1]);
}
