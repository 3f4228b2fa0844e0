import {
  remainingDeadlineMs,
  type ToolOutputParams,
  type ToolProgressParams,
  type ToolResult,
} from "@fabricore/protocol";
import type { Connection } from "./node-hub-connection.ts";
import type { CallToolOptions, CallToolParams } from "./node-hub-types.ts";

/** A call in flight whose progress the hub follows: to extend its deadline and tell the caller. */
interface ProgressWatch {
  call: CallToolParams;
  startedAt: number;
  rearm?: (ms: number) => void;
  onProgress?: CallToolOptions["onProgress"];
}

/**
 * `tools/call` on a Node connection, with the call's live output and progress routed back to its
 * caller. Output and progress are taken only for a call this hub sent, on the Node that runs it
 * (keyed by Node and callId); anything else is dropped.
 */
export class NodeToolCalls {
  /** Calls whose output is shown live, by Node and callId. */
  private readonly outputListeners = new Map<string, NonNullable<CallToolOptions["onOutput"]>>();
  private readonly progressWatches = new Map<string, ProgressWatch>();
  private readonly graceMs: number;
  private readonly safely: (what: string, fn: () => void) => void;

  /** `graceMs`: added to a call's deadline before giving up on it (NodeHubOptions.deadlineGraceMs).
   * `safely` runs a caller's listener, logging what it throws. */
  constructor(graceMs: number, safely: (what: string, fn: () => void) => void) {
    this.graceMs = graceMs;
    this.safely = safely;
  }

  async call(conn: Connection, call: CallToolParams, options: CallToolOptions): Promise<ToolResult> {
    const key = `${conn.nodeId}\u0000${call.callId}`;
    if (options.onOutput) this.outputListeners.set(key, options.onOutput);
    // Progress moves the deadline back (maxDeadlineMs), so the hub follows it even with no listener.
    const watch: ProgressWatch | undefined =
      call.maxDeadlineMs !== undefined || options.onProgress
        ? { call, startedAt: Date.now(), ...(options.onProgress && { onProgress: options.onProgress }) }
        : undefined;
    if (watch) this.progressWatches.set(key, watch);
    try {
      return await conn.peer.request("tools/call", options.onOutput ? { ...call, streamOutput: true } : call, {
        timeoutMs: call.deadlineMs + this.graceMs,
        ...(options.signal && { signal: options.signal }),
        ...(watch && {
          onTimeoutControl: (rearm: (ms: number) => void) => {
            watch.rearm = rearm;
          },
        }),
      });
    } finally {
      if (options.onOutput && this.outputListeners.get(key) === options.onOutput) this.outputListeners.delete(key);
      if (watch && this.progressWatches.get(key) === watch) this.progressWatches.delete(key);
    }
  }

  /** `fabricore/tool/output` from `conn`. */
  output(conn: Connection, { callId, stream, text }: ToolOutputParams): void {
    const listener = this.outputListeners.get(`${conn.nodeId}\u0000${callId}`);
    if (listener) this.safely("onOutput", () => listener(stream, text));
  }

  /** `fabricore/tool/progress` from `conn`: a call with a deadline cap gets its deadline moved back. */
  progress(conn: Connection, { callId, ...progress }: ToolProgressParams): void {
    const watch = this.progressWatches.get(`${conn.nodeId}\u0000${callId}`);
    if (!watch) return;
    if (watch.call.maxDeadlineMs !== undefined && watch.rearm) {
      const now = Date.now();
      const left = remainingDeadlineMs(watch.call, watch.startedAt, now, now);
      watch.rearm(left + this.graceMs);
    }
    const listener = watch.onProgress;
    if (listener) this.safely("onProgress", () => listener(progress));
  }
}
