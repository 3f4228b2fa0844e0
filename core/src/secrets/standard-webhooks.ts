import { createHmac, timingSafeEqual } from "node:crypto";

/** Standard Webhooks' tolerance: a delivery stamped further than this from now is refused. */
export const STANDARD_WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export type StandardWebhookCheck =
  | { ok: true }
  | { ok: false; reason: "missing_headers" | "bad_timestamp" | "stale_timestamp" | "bad_signature" };

/**
 * The key bytes of a Standard Webhooks secret: `whsec_<base64>` is the spec's form (the key is the
 * decoded bytes); any other string is used as given (UTF-8), which is what senders that let you
 * type your own secret do.
 */
export function standardWebhookKey(secret: string): Buffer {
  if (secret.startsWith("whsec_")) {
    const b64 = secret.slice("whsec_".length);
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return Buffer.from(b64, "base64");
  }
  return Buffer.from(secret, "utf8");
}

/**
 * Standard Webhooks (standardwebhooks.com): `webhook-signature` is a space-separated list of
 * `v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">`; one match is
 * enough (senders list several during their own key rotation). Compared in constant time; the
 * timestamp must be within ±5 minutes of `nowSeconds`, which bounds how long a captured delivery
 * could be replayed (the id is remembered on top of that).
 */
export function verifyStandardWebhook(
  secret: string,
  headers: { id?: string | undefined; timestamp?: string | undefined; signature?: string | undefined },
  rawBody: Buffer,
  nowSeconds: number,
): StandardWebhookCheck {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature) return { ok: false, reason: "missing_headers" };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "bad_timestamp" };
  if (Math.abs(nowSeconds - Number(timestamp)) > STANDARD_WEBHOOK_TOLERANCE_SECONDS) {
    return { ok: false, reason: "stale_timestamp" };
  }
  const expected = createHmac("sha256", standardWebhookKey(secret))
    .update(`${id}.${timestamp}.`)
    .update(rawBody)
    .digest();
  let match = false;
  for (const part of signature.split(" ")) {
    const [version, b64] = part.split(",", 2);
    if (version !== "v1" || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const given = Buffer.from(b64, "base64");
    // Every candidate is compared (no early exit), each in constant time.
    if (given.length === expected.length && timingSafeEqual(given, expected)) match = true;
  }
  return match ? { ok: true } : { ok: false, reason: "bad_signature" };
}

/**
 * The sending side of the same scheme: the three headers of one delivery of `body`. `id` stays the
 * same across retries of one message (receivers de-duplicate on it); the timestamp and signature
 * are made fresh for each attempt.
 */
export function signStandardWebhook(
  secret: string,
  id: string,
  body: string,
  nowSeconds: number,
): { "webhook-id": string; "webhook-timestamp": string; "webhook-signature": string } {
  const timestamp = String(Math.floor(nowSeconds));
  const signature = createHmac("sha256", standardWebhookKey(secret))
    .update(`${id}.${timestamp}.${body}`)
    .digest("base64");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
}
