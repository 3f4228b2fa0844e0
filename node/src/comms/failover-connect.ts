import type { Transport } from "@fabricore/protocol";

export interface FailoverOptions {
  /** The Core's Node endpoints (ws(s)://…/api/nodes/connect), in the order given by the operator. */
  urls: readonly string[];
  /** Dials one URL (connectWebSocket in production). */
  dial: (url: string, signal: AbortSignal) => Promise<Transport>;
  /** Told about each URL that failed before another was tried. */
  onFailover?: (from: string, error: unknown) => void;
  /** Told which URL answered. */
  onConnected?: (url: string) => void;
}

/**
 * A `connect` for the ConnectionManager that spreads one attempt over several Core replicas: it
 * starts with the replica that answered last (a Node stays where it is while that works) and, when
 * that one fails, tries the next ones at once, so a dead replica costs one refused dial, not a
 * backoff delay. Only when every URL failed does the attempt fail (and the manager backs off).
 */
export function failoverConnect(options: FailoverOptions): (signal: AbortSignal) => Promise<Transport> {
  if (options.urls.length === 0) throw new Error("failoverConnect needs at least one URL");
  let current = 0;
  return async (signal) => {
    let lastError: unknown;
    for (let tried = 0; tried < options.urls.length; tried += 1) {
      const index = (current + tried) % options.urls.length;
      const url = options.urls[index]!;
      try {
        const transport = await options.dial(url, signal);
        current = index;
        options.onConnected?.(url);
        return transport;
      } catch (error) {
        if (signal.aborted) throw error;
        lastError = error;
        if (options.urls.length > 1) options.onFailover?.(url, error);
      }
    }
    // Next attempt starts with the one after the first that failed: a replica that is merely slow
    // to come back is not hammered first every time.
    current = (current + 1) % options.urls.length;
    throw lastError;
  };
}
