/**
 * How many model requests may be in flight at once per model server, for the whole Core process
 * (clients are created per run; this outlives them, like `streamRefusals`). A local server answers
 * a few requests at a time (LM Studio 0.3.x one, 0.4 its "Max Concurrent Predictions", 4 by
 * default); the rest wait in its own queue while our response deadline runs out. Queued here
 * instead, a fleet's parallel children wait for the model — visibly, and with no deadline running.
 */
export class ProviderSlots {
  private readonly servers = new Map<string, Server>();

  /**
   * Waits for a free slot of `key` (at most `limit` in flight), then returns the release function.
   * `onQueued` is told when the caller has to wait, with how many requests are ahead of it.
   * Rejects with the signal's reason when aborted while waiting (no slot is then held).
   */
  async acquire(
    key: string,
    limit: number,
    signal: AbortSignal,
    onQueued?: (info: { ahead: number; limit: number }) => void,
  ): Promise<() => void> {
    signal.throwIfAborted();
    const server = this.server(key);
    server.limit = Math.max(1, Math.floor(limit));
    if (server.active < server.limit && server.queue.length === 0) {
      server.active++;
      return this.releaser(key, server);
    }
    onQueued?.({ ahead: server.queue.length + server.active - server.limit + 1, limit: server.limit });
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = server.queue.indexOf(waiter);
        if (i >= 0) server.queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      server.queue.push(waiter);
    });
    return this.releaser(key, server);
  }

  /** Requests in flight and waiting for `key` (for tests and metrics). */
  state(key: string): { active: number; queued: number } {
    const server = this.servers.get(key);
    return { active: server?.active ?? 0, queued: server?.queue.length ?? 0 };
  }

  private server(key: string): Server {
    let server = this.servers.get(key);
    if (!server) {
      server = { active: 0, limit: 1, queue: [] };
      this.servers.set(key, server);
    }
    return server;
  }

  private releaser(key: string, server: Server): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the first waiter (active stays), so no newcomer can jump the queue.
      const next = server.queue.shift();
      if (next) next.resolve();
      else {
        server.active--;
        if (server.active === 0) this.servers.delete(key);
      }
    };
  }
}

interface Waiter {
  resolve: () => void;
}

interface Server {
  active: number;
  limit: number;
  queue: Waiter[];
}

/** The process-wide slots `createLlmClient` uses unless given others. */
export const providerSlots = new ProviderSlots();
