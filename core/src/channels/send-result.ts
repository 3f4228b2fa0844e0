/** What one attempt to send came to, for the delivery queue and for POST /api/channels/:id/test. */
export interface SendResult {
  ok: boolean;
  /** Worth trying again: a connection error, a timeout, an HTTP 5xx (or 408/429), an SMTP 4xx. */
  retry: boolean;
  /** HTTP status, or the SMTP reply code. */
  status?: number;
  /** The receiver's answer (its first 2 KiB). */
  response: string;
  error?: string;
  /** With a 429/503 that said when: seconds to wait before the next attempt. */
  retryAfterSeconds?: number;
  durationMs: number;
}
