import type { RunStatus, RunTrigger } from "./schema.ts";
import type { PendingApproval, RunWaiting } from "./types-jobs.ts";

/* Runs and their steps: statuses, the run row, what starts, lists and finishes one.
 * Imported through types.ts, which re-exports every one. */

/** Statuses after which a run never changes again. */
export const FINAL_RUN_STATUSES = [
  "succeeded",
  "failed",
  "cancelled",
  "skipped",
] as const satisfies readonly RunStatus[];
export type FinalRunStatus = (typeof FINAL_RUN_STATUSES)[number];
/** Statuses in which a run is owned by an executing Core process. */
export const ACTIVE_RUN_STATUSES = ["running", "waiting_approval"] as const satisfies readonly RunStatus[];
export type ActiveRunStatus = (typeof ACTIVE_RUN_STATUSES)[number];
/** Statuses a run is in before it ends: what `fabricore_runs` reports (/metrics). */
export const LIVE_RUN_STATUSES = ["queued", ...ACTIVE_RUN_STATUSES] as const satisfies readonly RunStatus[];
export type LiveRunStatus = (typeof LIVE_RUN_STATUSES)[number];
export const RUN_STATUSES: readonly RunStatus[] = [
  "queued",
  "running",
  "waiting_approval",
  "succeeded",
  "failed",
  "cancelled",
  "skipped",
];

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export interface Run {
  id: string;
  jobId: string;
  trigger: RunTrigger;
  status: RunStatus;
  input: unknown;
  output: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Core process executing it (set by claimNext). */
  owner: string | null;
  /** Set by requestCancel on a running run; the owning process polls it and aborts. */
  cancelRequestedAt: string | null;
  usage: Usage;
  /** The tool call the run waits on while `waiting_approval`; null otherwise. */
  pendingApproval: PendingApproval | null;
  /** The delivery that started a webhook run; null for other triggers. */
  webhook: RunWebhook | null;
  /** The parsed answer that matched the job's `output.schema`; null without a schema or on failure. */
  result: unknown;
  /** 0 unless started by a `then` of another run: that run's depth + 1. */
  chainDepth: number;
  /** A fan-out child: its parent, and the Node it works on (id, and name when it was created). */
  parentRunId: string | null;
  nodeId: string | null;
  nodeName: string | null;
  /** Set while a queued run waits for its offline Nodes (the job's offlineNodes "wait"). */
  waiting: RunWaiting | null;
}

/** What the sender said about a delivery: GitHub's X-GitHub-Event / X-GitHub-Delivery, or
 * Standard Webhooks' webhook-id (no event header there: the event is null). */
export interface RunWebhook {
  event: string | null;
  deliveryId: string | null;
}

/** A fan-out child: written `queued` when the parent starts, but never claimed by a queue (claimNext
 * passes children over); the parent's executor claims each one when its turn comes. */
export interface NewChildRun {
  nodeId: string;
  nodeName: string;
}

export interface NewRun {
  jobId: string;
  trigger: RunTrigger;
  /** Any JSON value (webhook body, manual input); undefined/null stores NULL. */
  input?: unknown;
  /** Chosen by the caller when it must know the id before the row exists (webhook redelivery). */
  id?: string;
  webhook?: RunWebhook | null;
  chainDepth?: number;
}

export interface RunListQuery {
  jobId?: string;
  /** Only the children of this fan-out run; unset: only runs that are not children. */
  parentRunId?: string;
  status?: RunStatus;
  /** Default 50, at most 500. */
  limit?: number;
  /** Cursor: only runs created strictly before this ISO timestamp. Newest first. */
  before?: string;
  trigger?: RunTrigger;
  /** Created at or after / strictly before these ISO timestamps (a date range). */
  since?: string;
  until?: string;
  /** Runs that worked on this Node: a child of it, or a tool step on it (by Node id). */
  nodeId?: string;
  /** Text in the output or the error (case-insensitive). */
  q?: string;
}

export interface RunFinish {
  status: FinalRunStatus;
  output?: string | null;
  error?: string | null;
  usage?: Usage;
  /** The validated structured answer (any JSON); null clears it. */
  result?: unknown;
}

export type RunStepType = "llm" | "tool";

/** A step body, see CONTRACT "A run's step" (`type` is kept in its own column too). */
export type StepData = Record<string, unknown>;

export interface RunStep {
  id: number;
  runId: string;
  /** 1, 2, 3… per run, in append order. */
  seq: number;
  type: RunStepType;
  data: StepData;
  createdAt: string;
}

export interface NewRunStep {
  type: RunStepType;
  data: StepData;
}
