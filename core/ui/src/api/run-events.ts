import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { enc } from "./client.ts";
import { runKeys } from "./runs.ts";
import type { PendingApproval, RunStatus, RunStep } from "./types.ts";

export type StreamState = "connecting" | "open" | "unavailable" | "closed";

export interface LiveStatus {
  status: RunStatus;
  output?: string | null;
  error?: string | null;
  /** Set while the status is `waiting_approval`: the call waiting for a person. */
  pendingApproval?: PendingApproval | null;
}

/** Work in flight: a model request (attempt > 1 is a fallback) or tool calls sent to Nodes. */
export interface PendingModel {
  provider: string;
  model: string;
  attempt: number;
  startedAt?: string;
  /** What holds the request up, from `model_status` events. */
  status?: ModelWait;
}

/** Queued for the provider's parallel-request limit, or LM Studio loading the model. */
export type ModelWait =
  | { state: "queued"; ahead: number; limit: number }
  | { state: "loading"; how: "load_endpoint" | "jit"; contextLength?: number }
  | { state: "loaded"; loadMs: number; contextLength?: number };

/** The live view's line for a model request that has not started answering. */
export function waitingText(pending: PendingModel): string {
  const who = `${pending.provider} / ${pending.model}`;
  const fallback = pending.attempt > 1 ? ` (fallback, attempt ${pending.attempt})` : "";
  const s = pending.status;
  if (s?.state === "queued")
    return `Waiting for model ${who}${fallback}: ${s.ahead} request${s.ahead === 1 ? "" : "s"} ahead (the provider takes ${s.limit} at a time)…`;
  if (s?.state === "loading")
    return `Waiting for model ${who}${fallback}: LM Studio is loading it${s.contextLength ? ` with a ${s.contextLength}-token context` : ""}${s.how === "jit" ? " (just in time, on this first request)" : ""}…`;
  if (s?.state === "loaded") return `Model ${who} loaded in ${(s.loadMs / 1000).toFixed(1)} s; waiting for its answer…`;
  return `Waiting for ${who}${fallback}… a local model may take a while to load.`;
}
export interface PendingTool {
  callId: string;
  tool: string;
  node: string;
  arguments: unknown;
  /** When the Core sent it (the Core replays calls in flight to a page opened mid-call). */
  startedAt?: string;
  /** Its output so far (exec_command), the end of each stream kept. */
  stdout?: string;
  stderr?: string;
  /** Its latest progress report (an MCP tool's `notifications/progress`). */
  progress?: { progress: number; total?: number; message?: string };
}

/** "3/10: message", "42%", or "step 3" — the in-flight row's progress. */
export function progressText(progress: NonNullable<PendingTool["progress"]>): string {
  const { progress: done, total, message } = progress;
  const amount = total !== undefined && total > 0 ? `${done}/${total}` : `${done}`;
  return message ? `${amount}: ${message}` : amount;
}

/** The end of a call's live output kept in the page (the Node sends at most 64 KiB). */
const LIVE_OUTPUT_KEEP = 64 * 1024;

export interface RunStream {
  state: StreamState;
  /** Steps received live; merged with the stored ones by `mergeSteps`. */
  steps: RunStep[];
  /** Model text streamed since the last stored model step. */
  delta: string;
  status: LiveStatus | null;
  pendingModel: PendingModel | null;
  pendingTools: PendingTool[];
}

const EMPTY: Omit<RunStream, "state"> = { steps: [], delta: "", status: null, pendingModel: null, pendingTools: [] };

function parse(data: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A `step` event may carry the step itself or wrap it as `{seq, step}`. */
function stepOf(payload: Record<string, unknown>): RunStep | null {
  const inner = payload.step;
  if (typeof inner === "object" && inner !== null) {
    const step = { ...(inner as Record<string, unknown>) };
    if (typeof payload.seq === "number" && step.seq === undefined) step.seq = payload.seq;
    return step as unknown as RunStep;
  }
  return payload.type === "llm" || payload.type === "tool" ? (payload as unknown as RunStep) : null;
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => k !== "seq" && v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Stored steps plus live ones without duplicates. A Core may replay stored steps when the stream
 * opens, and a refetch may already contain a live step: a step is the same when its seq matches or,
 * without seq, when its content does. */
export function mergeSteps(stored: RunStep[], live: RunStep[]): RunStep[] {
  const seqs = new Set(stored.map((s) => s.seq).filter((s) => s !== undefined));
  const contents = new Set(stored.map(stable));
  const merged = [...stored];
  for (const step of live) {
    if (step.seq !== undefined && seqs.has(step.seq)) continue;
    const key = stable(step);
    if (contents.has(key)) continue;
    contents.add(key);
    if (step.seq !== undefined) seqs.add(step.seq);
    merged.push(step);
  }
  return merged.sort((a, b) => (a.seq ?? Number.MAX_SAFE_INTEGER) - (b.seq ?? Number.MAX_SAFE_INTEGER));
}

/** Follows a run over Server-Sent Events (`GET /api/runs/:id/events`, the session cookie goes
 * along since it is same-origin). When the stream cannot be opened the state says "unavailable"
 * and the page polls `GET /api/runs/:id` instead. */
export function useRunStream(runId: string, enabled: boolean): RunStream {
  const queryClient = useQueryClient();
  const [stream, setStream] = useState<RunStream>({ state: "connecting", ...EMPTY });

  useEffect(() => {
    setStream({ state: enabled ? "connecting" : "closed", ...EMPTY });
    if (!enabled || typeof EventSource === "undefined") {
      if (enabled) setStream((s) => ({ ...s, state: "unavailable" }));
      return;
    }
    const source = new EventSource(`/api/runs/${enc(runId)}/events`, { withCredentials: true });
    let finished = false;

    source.onopen = () => setStream((s) => ({ ...s, state: "open" }));
    source.onerror = () => {
      if (finished) return;
      // CLOSED: the Core refused the stream (not found, not allowed, no SSE) and the browser will
      // not retry; CONNECTING: a dropped connection the browser is already re-establishing.
      setStream((s) => ({ ...s, state: source.readyState === EventSource.CLOSED ? "unavailable" : "connecting" }));
    };
    source.addEventListener("step", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      const step = payload && stepOf(payload);
      if (!step) return;
      setStream((s) => {
        if (step.type === "llm") return { ...s, steps: [...s.steps, step], delta: "", pendingModel: null };
        // A finished tool call replaces its in-flight row: same callId, else (an older Core) the
        // first in-flight call of the same tool on the same Node.
        const byId = step.callId ? s.pendingTools.findIndex((p) => p.callId === step.callId) : -1;
        const index = byId >= 0 ? byId : s.pendingTools.findIndex((p) => p.tool === step.tool && p.node === step.node);
        const pendingTools = index < 0 ? s.pendingTools : s.pendingTools.filter((_, i) => i !== index);
        return { ...s, steps: [...s.steps, step], pendingTools };
      });
    });
    source.addEventListener("delta", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      if (typeof payload?.text === "string") {
        const text = payload.text;
        setStream((s) => ({ ...s, delta: s.delta + text }));
      }
    });
    source.addEventListener("model", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      if (typeof payload?.provider !== "string" || typeof payload.model !== "string") return;
      const pendingModel: PendingModel = {
        provider: payload.provider,
        model: payload.model,
        attempt: typeof payload.attempt === "number" ? payload.attempt : 1,
        ...(typeof payload.startedAt === "string" ? { startedAt: payload.startedAt } : {}),
      };
      setStream((s) => ({ ...s, pendingModel, delta: "" }));
    });
    source.addEventListener("model_status", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      const state = payload?.state;
      if (state !== "queued" && state !== "loading" && state !== "loaded") return;
      const status = payload as unknown as ModelWait;
      setStream((s) => ({
        ...s,
        pendingModel: {
          provider: typeof payload?.provider === "string" ? payload.provider : (s.pendingModel?.provider ?? ""),
          model: typeof payload?.model === "string" ? payload.model : (s.pendingModel?.model ?? ""),
          attempt: s.pendingModel?.attempt ?? 1,
          status,
        },
      }));
    });
    source.addEventListener("tool", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      if (typeof payload?.tool !== "string") return;
      const call: PendingTool = {
        callId: typeof payload.callId === "string" ? payload.callId : `${payload.tool}-${Date.now()}`,
        tool: payload.tool,
        node: typeof payload.node === "string" ? payload.node : "",
        arguments: payload.arguments,
        ...(typeof payload.startedAt === "string" ? { startedAt: payload.startedAt } : {}),
      };
      setStream((s) =>
        s.pendingTools.some((p) => p.callId === call.callId)
          ? s
          : { ...s, pendingModel: null, pendingTools: [...s.pendingTools, call] },
      );
    });
    source.addEventListener("output", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      const stream = payload?.stream;
      if (typeof payload?.callId !== "string" || typeof payload.text !== "string") return;
      if (stream !== "stdout" && stream !== "stderr") return;
      const { callId, text } = payload;
      setStream((s) => ({
        ...s,
        pendingTools: s.pendingTools.map((p) =>
          p.callId === callId ? { ...p, [stream]: ((p[stream] ?? "") + text).slice(-LIVE_OUTPUT_KEEP) } : p,
        ),
      }));
    });
    source.addEventListener("progress", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      if (typeof payload?.callId !== "string" || typeof payload.progress !== "number") return;
      const { callId } = payload;
      const progress = {
        progress: payload.progress,
        ...(typeof payload.total === "number" ? { total: payload.total } : {}),
        ...(typeof payload.message === "string" ? { message: payload.message } : {}),
      };
      setStream((s) => ({
        ...s,
        pendingTools: s.pendingTools.map((p) => (p.callId === callId ? { ...p, progress } : p)),
      }));
    });
    source.addEventListener("status", (event) => {
      const payload = parse((event as MessageEvent<string>).data);
      if (typeof payload?.status !== "string") return;
      const status: LiveStatus = {
        status: payload.status as RunStatus,
        output: typeof payload.output === "string" ? payload.output : undefined,
        error: typeof payload.error === "string" ? payload.error : undefined,
        pendingApproval:
          typeof payload.pendingApproval === "object" && payload.pendingApproval !== null
            ? (payload.pendingApproval as PendingApproval)
            : null,
      };
      setStream((s) => ({ ...s, status }));
      // The stored run carries the pending call too (and the Core's word on who decided).
      if (status.status === "waiting_approval" || status.status === "running")
        void queryClient.invalidateQueries({ queryKey: runKeys.detail(runId) });
    });
    // A fan-out parent: a child started or ended, so its Nodes table is re-read — at most once a
    // second: a 1,000-Node fan-out sends ~2,000 of these, each re-read carries every child.
    let childrenTimer: ReturnType<typeof setTimeout> | undefined;
    source.addEventListener("children", () => {
      if (childrenTimer) return;
      childrenTimer = setTimeout(() => {
        childrenTimer = undefined;
        void queryClient.invalidateQueries({ queryKey: runKeys.detail(runId) });
      }, 1_000);
    });
    source.addEventListener("done", () => {
      finished = true;
      source.close();
      setStream((s) => ({ ...s, state: "closed", delta: "", pendingModel: null, pendingTools: [] }));
      // The stored run is the final word: output, usage and timestamps.
      void queryClient.invalidateQueries({ queryKey: runKeys.detail(runId) });
    });

    return () => {
      finished = true;
      if (childrenTimer) clearTimeout(childrenTimer);
      source.close();
    };
  }, [runId, enabled, queryClient]);

  return stream;
}
