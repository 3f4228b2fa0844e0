import type { ToolDescriptor } from "@fabricore/protocol";
import type {
  ChannelKind,
  DeliveryEvent,
  DeliveryStatus,
  ProviderKind,
  Role,
  RunStatus,
  RunTrigger,
} from "./schema.ts";

/**
 * Domain objects the repositories return: camelCase, JSON columns parsed, 0/1 as booleans, and
 * secret material never present (only `hasApiKey` / `hasSecret`). Timestamps stay ISO-8601 text,
 * as stored, so they round-trip through JSON unchanged.
 */

export type {
  ChannelKind,
  DeliveryEvent,
  DeliveryStatus,
  ProviderKind,
  Role,
  RunStatus,
  RunTrigger,
} from "./schema.ts";

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

export interface User {
  id: string;
  username: string;
  /** scrypt string from `hashPassword`; needed for login, never sent to a client. */
  passwordHash: string;
  role: Role;
  failedLogins: number;
  lockedUntil: string | null;
  createdAt: string;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
}

export type TokenKind = "session" | "api";

/** An API or session token's metadata; the token itself is never stored, only its hash. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  kind: TokenKind;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  /** A role below the owner's; null: the owner's role. */
  role: Role | null;
  /** Limits beyond the role; null: none. */
  scopes: TokenScopes | null;
  /** Which of this token's MCP tool calls wait for an operator; null: none. */
  mcpApproval: ApprovalPolicy | null;
}

/**
 * What a scoped token may reach: the Nodes `selector` (label selector syntax) matches, and only
 * the `tools` listed (a tool's own name, `<source>/<name>` or `mcp:<server>`). Absent: no limit.
 */
export interface TokenScopes {
  selector?: string;
  tools?: string[];
}

export interface NewApiToken {
  userId: string;
  name: string;
  /** `hashToken(token)` (SHA-256 hex). */
  tokenHash: string;
  kind: TokenKind;
  expiresAt?: string | null;
  role?: Role | null;
  scopes?: TokenScopes | null;
  mcpApproval?: ApprovalPolicy | null;
}

export interface FleetNode {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  lastSeenAt: string | null;
  version: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  /** As last announced by the Node (hello or tools-changed). */
  tools: ToolDescriptor[];
  /** The Node's Ed25519 public key (base64url); null until it enrolled. */
  publicKey: string | null;
  keyRegisteredAt: string | null;
  /** When the current enrollment token was spent; null: it can still register a key. */
  tokenUsedAt: string | null;
}
/** `Node` clashes with the DOM/Node.js global in editors; both names are exported. */
export type { FleetNode as Node };

export interface NewNode {
  name: string;
  labels?: Record<string, string>;
  /** `hashToken(enrollmentToken)`. */
  tokenHash: string;
}

export interface NodeHello {
  version: string;
  hostname: string;
  os: string;
  arch: string;
  tools: ToolDescriptor[];
  at: string;
}

/** A secret as listed: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export type ProviderOptions = Record<string, unknown>;

export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  hasApiKey: boolean;
  /** Never holds `headers`: their values are sealed (issue 21.1); their names are in `headers`. */
  options: ProviderOptions;
  /** The custom headers sent on every request, by name only: values are never returned. */
  headers: Array<{ name: string; hasValue: boolean }>;
  createdAt: string;
}

export interface NewProvider {
  name: string;
  kind: ProviderKind;
  baseUrl?: string | null;
  /** Plain text; sealed before it reaches the database. */
  apiKey?: string | null;
  options?: ProviderOptions;
  /** Plain text; sealed before it reaches the database. */
  headers?: Record<string, string>;
}

/** `apiKey`: undefined keeps the stored key, null removes it, a string replaces it. `headers`:
 * undefined keeps the stored ones, an object replaces them all ({} removes them). */
export interface ProviderPatch {
  name?: string;
  kind?: ProviderKind;
  baseUrl?: string | null;
  apiKey?: string | null;
  options?: ProviderOptions;
  headers?: Record<string, string>;
}

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

export type McpServerSpec = Record<string, unknown>;

export interface McpServer {
  nodeId: string;
  name: string;
  spec: McpServerSpec;
  createdAt: string;
}

export type AuditOutcome = "ok" | "failed" | "denied";

export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  ip?: string | null;
  outcome?: AuditOutcome;
  detail?: Record<string, unknown>;
  resultHash?: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: AuditOutcome;
  detail: Record<string, unknown>;
  resultHash: string | null;
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  /** What the entry is about: a run, job or Node id, a user name. */
  target?: string;
  /** ISO timestamp: entries at or after it. */
  since?: string;
  /** Leaves out `token.use` entries of sign-in sessions (each follows an `auth.login`); API tokens' uses stay. */
  hideSessionTokenUse?: boolean;
  /** Default 100, at most 1000. Newest first. */
  limit?: number;
}

/** A notification channel as listed: the config's secret parts are never in it. */
export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  /** What is not secret (a webhook's URL, an email's from/to, a Slack URL's host). */
  config: Record<string, unknown>;
  /** Names of the secret config fields that are set (their values are never returned). */
  secrets: string[];
  createdAt: string;
}

export interface NewChannel {
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  /** Plain text; sealed before it reaches the database. */
  secret: Record<string, string>;
}

/** One notification of one run through one channel, and how its sending went. */
export interface Delivery {
  id: string;
  runId: string;
  channelId: string;
  event: DeliveryEvent;
  dedupeKey: string;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  payload: Record<string, unknown>;
  nextAttemptAt: string;
  createdAt: string;
  deliveredAt: string | null;
}

export interface NewDelivery {
  runId: string;
  channelId: string;
  event: DeliveryEvent;
  dedupeKey: string;
  payload: Record<string, unknown>;
}
