import type { PendingApproval, RunStatus } from "../database/types.ts";
import type { ModelStatus } from "../llm/types.ts";
import { InFlightCalls } from "./in-flight.ts";

/** A live run event, as sent to browsers over Server-Sent Events. `step` carries the stored step
 * (with its seq) so a client can resume; `delta` is streamed model text (not stored). */
export type RunEvent =
  | { type: "step"; seq: number; step: Record<string, unknown> }
  | { type: "delta"; text: string }
  /** Streamed reasoning of the model turn in progress (not stored: the step's `reasoning` is). */
  | { type: "reasoning"; text: string }
  /** A model request began (attempt > 1: a fallback). LM Studio may be loading the model. */
  | { type: "model"; provider: string; model: string; attempt: number; startedAt?: string }
  /** Why that request has not started: `queued` for the provider's slots (`ahead` before it), or
   * the model `loading` (then `loaded`) on LM Studio. The UI shows it as "waiting for model". */
  | { type: "model_status"; provider: string; model: string; status: ModelStatus }
  /** A tool call was sent to its Node; its step (same callId) follows when it returns. */
  | { type: "tool"; tool: string; node: string; callId: string; arguments: unknown; startedAt?: string }
  /** Output of a call in flight (exec_command's stdout/stderr as it comes), redacted. */
  | { type: "output"; callId: string; stream: "stdout" | "stderr"; text: string }
  /** Progress of a call in flight (an MCP tool's `notifications/progress`), the latest only. */
  | { type: "progress"; callId: string; progress: number; total?: number; message?: string }
  | {
      type: "status";
      status: string;
      output?: string | null;
      error?: string | null;
      /** With `waiting_approval`: the exact call waiting for a person (tool, node, arguments). */
      pendingApproval?: unknown;
      /** With `queued`: the run waits for its offline Nodes (the job's offlineNodes "wait"). */
      waiting?: unknown;
    }
  | { type: "done"; status: string }
  /** A fan-out run's children changed (one started or ended); re-read the run for the table. */
  | { type: "children" };

export type RunEventListener = (event: RunEvent) => void;

/** Fan-out of live run events inside one Core. In cluster mode the same interface is backed by
 * Redis pub/sub so a browser on any replica sees runs executing on another. */
export interface RunEventBus {
  publish(runId: string, event: RunEvent): void;
  subscribe(runId: string, listener: RunEventListener): () => void;
  /** What the run is waiting for right now (its latest `model` and `model_status` events since
   * its last step), so a browser that opens the run while it waits for a model sees why. */
  waiting?(runId: string): RunEvent[];
  /** The run's model request and tool calls in flight now, as the events that announced them. */
  inFlight(runId: string): RunEvent[];
}

export class LocalRunEventBus implements RunEventBus {
  private readonly listeners = new Map<string, Set<RunEventListener>>();
  private readonly calls = new InFlightCalls();

  /** The model request and what it waits for, while it has not begun to answer. */
  waiting(runId: string): RunEvent[] {
    return this.calls.waiting(runId);
  }

  inFlight(runId: string): RunEvent[] {
    return this.calls.snapshot(runId);
  }

  publish(runId: string, event: RunEvent): void {
    this.calls.record(runId, event);
    for (const listener of this.listeners.get(runId) ?? []) {
      try {
        listener(event);
      } catch {
        // One broken subscriber (a closed response) must not stop the others.
      }
    }
  }

  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) {
      set = new Set();
      this.listeners.set(runId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }
}

/**
 * Told after a run's new status is stored: succeeded/failed by the executor, waiting_approval by
 * the approval gate, failed by crash recovery. Notifications hook here. It must not throw, and a
 * slow one delays only the code that awaits it, never the run (the status is already stored).
 */
export type RunStatusHook = (
  runId: string,
  status: RunStatus,
  detail?: { approval?: PendingApproval | undefined },
) => Promise<void>;
