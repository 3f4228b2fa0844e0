/** Every response: no sniffing, no framing, no referrer, and for API answers a CSP that allows
 * nothing (a JSON body opened as a page runs no script). The UI's HTML gets its own CSP (app.ts). */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The headers of every answer, in one place so that answers written past Fastify's onSend hook
 * (a hijacked Server-Sent Events stream, issue 21.10) carry the same ones.
 */
export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    ...(tls ? { "strict-transport-security": "max-age=31536000; includeSubDomains" } : {}),
  };
}

/**
 * How many event streams one user may hold open at once on this Core (issue 21.10: one viewer
 * opened 1,000). Counted per process; `acquire` gives the release to call when the stream ends.
 */
export class StreamLimiter {
  private readonly open = new Map<string, number>();
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  acquire(key: string): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}
