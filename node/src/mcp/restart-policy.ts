/** How a supervised MCP server is restarted after it crashed or failed to start. */
export interface RestartPolicy {
  /** Delay before the first restart; doubles after each further failure. */
  initialDelayMs: number;
  /** The delay never grows past this. */
  maxDelayMs: number;
  /** Consecutive failures (crashes or failed starts) after which the server is left "failed". */
  maxFailures: number;
  /** A server that ran this long before it died starts counting failures afresh. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  // 0.5 + 1 + 2 + 4 + 8 + 16 + 30 s: a Docker daemon restart or a slow host is ridden out.
  maxFailures: 8,
  stableAfterMs: 60_000,
};
