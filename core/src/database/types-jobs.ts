/* Jobs: model, schedule, approvals, budgets, fan-out, notifications, offline Nodes, output and chains.
 * Imported through types.ts, which re-exports every one. */

export interface ModelRef {
  /** Provider id or name, as the job author wrote it (resolved when the run starts). */
  provider: string;
  model: string;
}

export interface JobSchedule {
  cron: string;
  timezone: string;
  /** What to do about fires missed while the Core was down, suspended or its clock jumped:
   * `run_once` (default) starts one catch-up run, `skip` only records the miss. */
  misfire?: "run_once" | "skip";
}

/**
 * When a run must wait for a person before a tool call. `required`: every tool call; `tools`: only
 * calls of these tools (a tool's own name, or `<source>/<name>`). No answer within
 * `timeoutSeconds` fails that tool step.
 */
export interface ApprovalPolicy {
  required?: boolean;
  tools?: string[];
  timeoutSeconds?: number;
}

/** The exact call a run is waiting on, as shown in GET /api/runs/:id. */
export interface PendingApproval {
  id: string;
  tool: string;
  source: string;
  node: string;
  nodeId: string;
  arguments: unknown;
  requestedAt: string;
  deadline: string;
}

export interface ApprovalDecision {
  approvalId: string;
  approved: boolean;
  reason: string | null;
  by: string;
  at: string;
}

/**
 * What one run of a job may spend: a run that goes over fails with the reason. `maxTokens`: prompt
 * plus completion tokens across every model call of the run; `maxSeconds`: wall-clock time from
 * the start of the run (approval waits included), after which the model request and tool calls in
 * flight are aborted.
 */
export interface RunBudget {
  maxTokens: number;
  maxSeconds: number;
}

/** A fleet job's fan-out (CONTRACT "Fleet jobs"): one child run per target Node. */
export interface FanOut {
  mode: "each";
  /** Children running at once. */
  concurrency: number;
  /** After a child fails, start no more (the rest are `skipped`, naming the failed one). */
  stopOnFailure: boolean;
  /** One more model turn over the children's outputs writes the parent's output. */
  summarize: boolean;
}

/** The run statuses a job can be notified of (CONTRACT "Results that reach people"). */
export const NOTIFY_STATUSES = ["succeeded", "failed", "waiting_approval"] as const;
export type NotifyStatus = (typeof NOTIFY_STATUSES)[number];

/** Send to `channel` (stored as the channel's id) when a run reaches one of `on`. */
export interface NotifyRule {
  channel: string;
  on: NotifyStatus[];
}

export interface Job {
  id: string;
  name: string;
  prompt: string;
  model: ModelRef;
  fallbacks: ModelRef[];
  nodes: string[];
  /** Allowlist; [] = every tool of the job's Nodes. */
  tools: string[];
  schedule: JobSchedule | null;
  /** `public`: no secret, accepted on purpose (its runs' write-capable tools need approval). */
  webhook: { slug: string; hasSecret: boolean; public: boolean } | null;
  maxSteps: number;
  enabled: boolean;
  approval: ApprovalPolicy | null;
  budget: RunBudget;
  /** The answer must be JSON matching this schema; null: free text. */
  output: JobOutput | null;
  /** Jobs started when a run of this one ends (by id). */
  then: ChainRule[];
  /** Kubernetes label selector; its Nodes join `nodes` when a run starts. */
  selector: string | null;
  fanOut: FanOut | null;
  notify: NotifyRule[];
  /** Every target Node offline when a run starts: fail at once (nodes_offline) or wait for one. */
  offlineNodes: OfflineNodes;
  /** With "wait": how long before the run fails with nodes_offline after all. */
  waitForNodesSeconds: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewJob {
  name: string;
  prompt: string;
  model: ModelRef;
  fallbacks?: ModelRef[];
  nodes?: string[];
  tools?: string[];
  schedule?: JobSchedule | null;
  /** `secret` is plain text; sealed before it reaches the database. */
  webhook?: { slug: string; secret?: string | null; public?: boolean } | null;
  maxSteps?: number;
  enabled?: boolean;
  approval?: ApprovalPolicy | null;
  /** Fields left out get the defaults (create) or stay as they are (patch). */
  budget?: Partial<RunBudget>;
  output?: JobOutput | null;
  then?: ChainRule[];
  selector?: string | null;
  fanOut?: FanOut | null;
  notify?: NotifyRule[];
  offlineNodes?: OfflineNodes;
  waitForNodesSeconds?: number;
}

/**
 * Every field optional; `webhook: null` removes the webhook; within `webhook`, `secret` undefined
 * keeps the stored secret, null removes it, a string replaces it.
 */
export interface JobPatch {
  name?: string;
  prompt?: string;
  model?: ModelRef;
  fallbacks?: ModelRef[];
  nodes?: string[];
  tools?: string[];
  schedule?: JobSchedule | null;
  webhook?: { slug: string; secret?: string | null; public?: boolean } | null;
  maxSteps?: number;
  enabled?: boolean;
  approval?: ApprovalPolicy | null;
  /** Fields left out get the defaults (create) or stay as they are (patch). */
  budget?: Partial<RunBudget>;
  output?: JobOutput | null;
  then?: ChainRule[];
  selector?: string | null;
  fanOut?: FanOut | null;
  notify?: NotifyRule[];
  offlineNodes?: OfflineNodes;
  waitForNodesSeconds?: number;
}

/** What a run does when every target Node is offline (issue 22.1). */
export type OfflineNodes = "fail" | "wait";
export const DEFAULT_WAIT_FOR_NODES_SECONDS = 600;

/** A queued run waiting for its offline Nodes: which (ids to wake it, names to show), since when,
 * and until when before it fails with nodes_offline. */
export interface RunWaiting {
  nodeIds: string[];
  nodes: string[];
  since: string;
  until: string;
}

/** A job's structured output: a JSON Schema (draft 2020-12 or 07) the final answer must match. */
export interface JobOutput {
  schema: Record<string, unknown>;
}

/** After a run ends with a status in `on`, start `job` (stored as its id) with trigger "chain". */
export interface ChainRule {
  job: string;
  on: Array<"succeeded" | "failed">;
}

export const DEFAULT_MAX_STEPS = 20;
/** Enough for 20 turns of a 32k-token context with room to spare; a run that loops burns no more. */
export const DEFAULT_MAX_TOKENS = 1_000_000;
/** One hour (the default approval timeout too: an approval wait counts against it). */
export const DEFAULT_MAX_SECONDS = 3600;
