/**
 * Pinning the Core's release key on first sight (docs/NODE-LIFECYCLE.md, "A Node enrolled before
 * the release key"). A Node enrolled before the Core had a release key has none in identity.json
 * and refuses every update. The hello answer carries the key; it may be pinned from there when:
 *  - nothing is pinned yet (a pinned key is never replaced: only a re-enrollment does that), and
 *  - the connection it came over is the Core this Node enrolled with: https whose certificate is
 *    the one pinned for that origin (the same pin the signed challenge relies on), or plain http
 *    to this very host (loopback: nothing in between). Plain http across the network (--insecure)
 *    is not enough: anyone on the path could hand the Node a key of their own.
 */

/** What the connection the hello came over proved about the Core on its other end. */
export interface HelloChannel {
  /** The Core URL (http(s)://host:port) this connection was dialled for. */
  coreUrl: string;
  /** The certificate the WebSocket presented equals the one pinned for that origin. */
  certificatePinned: boolean;
}

export type UpdateKeyDecision =
  /** Nothing pinned yet and the channel is the enrolled Core's: pin it. */
  | { action: "pin" }
  /** The pinned key is the one the Core sent (or the Core sent none): nothing to do. */
  | { action: "none" }
  /** A pinned key, and the Core sent another: keep the pinned one, say so. */
  | { action: "refuse"; reason: "different_key" }
  /** Nothing pinned, but the channel does not prove which Core sent it: not pinned. */
  | { action: "refuse"; reason: "unverified_channel" };

const loopback = (host: string) => host === "localhost" || host === "::1" || /^127\./.test(host);

export function decideUpdateKey(
  pinned: string | undefined,
  offered: string | undefined,
  channel: HelloChannel | undefined,
): UpdateKeyDecision {
  if (offered === undefined || offered === pinned) return { action: "none" };
  if (pinned !== undefined) return { action: "refuse", reason: "different_key" };
  if (channel === undefined) return { action: "refuse", reason: "unverified_channel" };
  const url = new URL(channel.coreUrl);
  const trusted =
    url.protocol === "https:"
      ? channel.certificatePinned
      : url.protocol === "http:" && loopback(url.hostname.replace(/^\[|\]$/g, ""));
  return trusted ? { action: "pin" } : { action: "refuse", reason: "unverified_channel" };
}
