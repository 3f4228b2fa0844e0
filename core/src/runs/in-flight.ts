import type { RunEvent } from "./run-events.ts";

type ToolEvent = Extract<RunEvent, { type: "tool" }>;
type ProgressEvent = Extract<RunEvent, { type: "progress" }>;
type ModelEvent = Extract<RunEvent, { type: "model" }>;
type ModelStatusEvent = Extract<RunEvent, { type: "model_status" }>;

interface RunInFlight {
  model: ModelEvent | null;
  /** Why that request has not started answering (queued, LM Studio loading), its latest word. */
  wait: ModelStatusEvent | null;
  /** The request's answer has begun streaming: it waits on nothing any more. */
  answering: boolean;
  tools: Map<string, ToolEvent & { output: { stdout: string; stderr: string }; progress?: ProgressEvent }>;
  touchedAt: number;
}

/** The end of each stream of a call kept for a late subscriber (the Node sends at most 64 KiB). */
export const OUTPUT_TAIL_CHARS = 16 * 1024;

/** Runs whose `done` never came here (their replica died): forgotten after this long idle. */
const IDLE_FORGET_MS = 6 * 60 * 60 * 1000;
/** A bound on memory whatever happens: the oldest run is forgotten first. */
const MAX_RUNS = 10_000;

/**
 * What each run is doing right now — the model request (and what it waits for: a slot, a model
 * loading), the tool calls sent and not yet answered — kept from the events as they pass, so a browser that opens a run mid-call is told
 * (issue 22.2): those events are live-only, a late subscriber would otherwise never see them.
 * In cluster mode every replica receives every run event (RedisRunEventBus), so every replica
 * knows. Updated before listeners are told, so a snapshot never lags what was delivered.
 */
export class InFlightCalls {
  private readonly runs = new Map<string, RunInFlight>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  record(runId: string, event: RunEvent): void {
    if (event.type === "done") {
      this.runs.delete(runId);
      return;
    }
    if (event.type === "output") {
      const call = this.runs.get(runId)?.tools.get(event.callId);
      if (call) call.output[event.stream] = (call.output[event.stream] + event.text).slice(-OUTPUT_TAIL_CHARS);
      return;
    }
    if (event.type === "progress") {
      const call = this.runs.get(runId)?.tools.get(event.callId);
      if (call) call.progress = event;
      return;
    }
    if (event.type === "model_status" || event.type === "delta" || event.type === "reasoning") {
      const entry = this.runs.get(runId);
      if (!entry?.model) return;
      // A thinking model has started answering too: its wait is over.
      if (event.type !== "model_status") entry.answering = true;
      else entry.wait = event;
      return;
    }
    if (event.type !== "tool" && event.type !== "model" && event.type !== "step") return;
    let entry = this.runs.get(runId);
    if (!entry) {
      if (event.type === "step") return;
      entry = { model: null, wait: null, answering: false, tools: new Map(), touchedAt: this.now() };
      this.runs.set(runId, entry);
      this.sweep();
    }
    entry.touchedAt = this.now();
    if (event.type === "model") {
      // A new request (a fallback, or the next turn) starts its wait over.
      entry.model = event;
      entry.wait = null;
      entry.answering = false;
    } else if (event.type === "tool") {
      // The model's turn ended in this call: it is no longer what the run waits on.
      entry.model = null;
      entry.tools.set(event.callId, { ...event, output: { stdout: "", stderr: "" } });
    } else if (event.step.type === "llm") entry.model = null;
    else if (typeof event.step.callId === "string") entry.tools.delete(event.step.callId);
  }

  /** The model request and what it waits for, while it has not begun to answer. */
  waiting(runId: string): RunEvent[] {
    const entry = this.runs.get(runId);
    if (!entry?.model || entry.answering) return [];
    return entry.wait ? [entry.model, entry.wait] : [entry.model];
  }

  /** The in-flight model request first (with its wait), then the tool calls in the order they
   * were sent, each followed by its latest progress and the end of its output so far. */
  snapshot(runId: string): RunEvent[] {
    const entry = this.runs.get(runId);
    if (!entry) return [];
    const waiting = this.waiting(runId);
    const events: RunEvent[] = waiting.length ? waiting : entry.model ? [entry.model] : [];
    for (const { output, progress, ...call } of entry.tools.values()) {
      events.push(call);
      if (progress) events.push(progress);
      for (const stream of ["stdout", "stderr"] as const)
        if (output[stream]) events.push({ type: "output", callId: call.callId, stream, text: output[stream] });
    }
    return events;
  }

  private sweep(): void {
    const cutoff = this.now() - IDLE_FORGET_MS;
    for (const [runId, entry] of this.runs) {
      if (entry.touchedAt < cutoff || this.runs.size > MAX_RUNS) this.runs.delete(runId);
      else break; // Insertion order is roughly age order: stop at the first live one.
    }
  }
}
