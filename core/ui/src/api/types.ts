import type { McpServerStatus, ProviderKind, SystemStats, ToolDescriptor } from "@fabricore/protocol";

// Wire shapes of the Core's HTTP API (see CONTRACT.md). Fields marked optional are either optional
// in the contract or extras the UI uses when the Core provides them and degrades without.

export type NodeStatus = "online" | "offline";

export type NodeTool = Pick<ToolDescriptor, "name" | "source"> & {
  description?: string;
  inputSchema?: unknown;
};

export interface FleetNode {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: NodeStatus;
  lastSeenAt: string | null;
  version: string | null;
  /** The Node runs another version than the one this Core serves. */
  updateAvailable?: boolean;
  /** The Node version this Core serves. */
  servedVersion?: string | null;
  tools: NodeTool[];
  hostname?: string | null;
  os?: string | null;
  arch?: string | null;
  createdAt?: string;
  /** Latest heartbeat stats, when the Core has them. */
  stats?: Partial<SystemStats> | null;
  capabilities?: { exec: boolean; docker: boolean; readRoots: string[] };
}

export interface EnrolledNode {
  id: string;
  name: string;
  token: string;
}

export interface McpMountInput {
  source: string;
  target: string;
  readOnly: boolean;
}

export interface McpServer {
  name: string;
  kind?: "managed" | "remote";
  preset?: string;
  image?: string;
  url?: string;
  mounts?: McpMountInput[];
  state?: McpServerStatus["state"] | (string & {});
  error?: string;
  toolCount?: number;
  tools?: NodeTool[];
  restarts?: number;
  /** The last time the server stopped on its own (crash, OOM kill) and why; kept after a restart. */
  lastCrash?: { at: string; reason: string };
  /** `"none"`, `"open"` or the hosts its egress proxy lets through. */
  network?: "none" | "open" | { allow: string[] } | null;
  /** Connections its egress proxy let through and refused, with the last refusal. */
  egress?: { allowed: number; refused: number; lastRefused?: { at: string; target: string; reason: string } } | null;
  /** Tools the server offers that are not offered to the model, and why (task-required ones). */
  skippedTools?: Array<{ name: string; reason: string }>;
  createdAt?: string;
}

export interface McpPresetSetting {
  name: string;
  description?: string;
  secret?: boolean;
}

export interface McpPreset {
  id: string;
  name: string;
  image: string;
  description: string;
  settings?: McpPresetSetting[];
  needsNetwork?: boolean;
}

/** A preset setting's value: typed in, or taken from a stored secret by name. */
export type McpSettingValue = string | { secret: string };

export type InstallMcpBody =
  | {
      name: string;
      preset?: string;
      image?: string;
      mounts: McpMountInput[];
      env?: Record<string, string>;
      settings?: Record<string, McpSettingValue>;
    }
  | { name: string; url: string };

export type { ProviderKind };

export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  hasApiKey: boolean;
  options?: ProviderOptions;
  createdAt?: string;
}

/** What a provider form edits of its options; the rest are kept as stored. */
export interface ProviderOptions {
  contextTokens?: number;
  maxConcurrent?: number;
  [other: string]: unknown;
}

/** POST /api/providers/test and /:id/test: a failed connection is an answer too. */
export type ProviderTestAnswer =
  | { ok: true; models: number; modelIds?: string[]; latencyMs: number }
  | { ok: false; error: { code: string; message: string } };

export interface ProviderModel {
  id: string;
  loaded?: boolean;
  /** LM Studio: the context length the model is loaded with. */
  loadedContextLength?: number;
  /** false when the Core knows the model cannot call tools. */
  toolUse?: boolean;
}

export interface Secret {
  name: string;
  createdAt?: string;
  updatedAt?: string;
  /** The stored value does not decrypt (tampered with, or another master key). */
  unreadable?: true;
}

/** A sealed value of any kind the Core cannot decrypt (GET /api/secrets/unreadable). */
export interface UnreadableSecret {
  kind: string;
  id: string;
  name: string;
  code: string;
  detectedAt: string;
  message: string;
}

export interface ModelRef {
  provider: string;
  model: string;
}

export interface JobSchedule {
  cron: string;
  timezone?: string;
  /** The Core's plain-language reading of the cron. */
  description?: string;
  /** Upcoming fire times (ISO), when the Core computes them. */
  nextRuns?: string[];
  nextFireAt?: string | null;
  lastFireAt?: string | null;
  /** Fires missed while the Core was down: one catch-up run (default) or none. */
  misfire?: MisfirePolicy;
  lastMisfireAt?: string | null;
  lastMisfireReason?: string | null;
}

export type MisfirePolicy = "run_once" | "skip";

/** When a run waits for a person before a tool call: every call (`required`) or calls of the listed
 * tools; no decision within `timeoutSeconds` (default 3600) fails that tool step. */
export interface ApprovalPolicy {
  required?: boolean;
  tools?: string[];
  timeoutSeconds?: number;
}

/** The exact call a run in `waiting_approval` is waiting on. */
export interface PendingApproval {
  id: string;
  tool: string;
  source?: string;
  node: string;
  nodeId?: string;
  arguments: unknown;
  requestedAt?: string;
  deadline?: string;
}

export interface JobWebhook {
  slug: string;
  /** Write-only; the Core may say whether one is set. */
  secret?: string;
  hasSecret?: boolean;
  /** Saved without a secret on purpose: anyone with the URL may start the job. */
  public?: boolean;
}

/** `skipped`: a fan-out child whose Node was offline when its turn came (or stopped by stopOnFailure). */
export type RunStatus = "queued" | "running" | "waiting_approval" | "succeeded" | "failed" | "cancelled" | "skipped";
export type RunTrigger = "manual" | "cron" | "webhook" | "chain";

export interface RunSummary {
  id: string;
  status: RunStatus;
  startedAt?: string | null;
  finishedAt?: string | null;
  createdAt?: string;
}

export interface Job {
  id: string;
  name: string;
  prompt: string;
  model: ModelRef;
  fallbacks?: ModelRef[];
  nodes: string[];
  tools?: string[];
  schedule?: JobSchedule | null;
  webhook?: JobWebhook | null;
  maxSteps?: number;
  enabled?: boolean;
  approval?: ApprovalPolicy | null;
  /** Hard limits per run; the Core fills in its defaults (1,000,000 tokens, 3600 s). */
  budget?: JobBudget;
  /** Kubernetes label selector; its Nodes join `nodes` when a run starts (CONTRACT "Fleet jobs"). */
  selector?: string | null;
  fanOut?: FanOut | null;
  notify?: NotifyRule[];
  output?: { schema: Record<string, unknown> } | null;
  then?: ThenRule[];
  nextFireAt?: string | null;
  lastRun?: RunSummary | null;
  createdAt?: string;
  updatedAt?: string;
}

/** A run fails once it spends more prompt + completion tokens, or more wall-clock seconds
 * (approval waits included), than this. */
export interface JobBudget {
  maxTokens: number;
  maxSeconds: number;
}

export interface JobInput {
  name: string;
  prompt: string;
  model: ModelRef;
  fallbacks: ModelRef[];
  nodes: string[];
  tools: string[];
  schedule: { cron: string; timezone: string; misfire: MisfirePolicy } | null;
  webhook: { slug: string; secret?: string; public?: boolean } | null;
  maxSteps: number;
  enabled: boolean;
  approval: ApprovalPolicy | null;
  /** Whole on create; on PATCH only the changed fields, and left out when nothing changed. */
  budget?: Partial<JobBudget>;
  selector?: string | null;
  fanOut?: FanOut | null;
  notify?: NotifyRule[];
  output?: { schema: Record<string, unknown> } | null;
  then?: ThenRule[];
}

export type NotifyEvent = "succeeded" | "failed" | "waiting_approval";
export const NOTIFY_EVENTS: readonly NotifyEvent[] = ["succeeded", "failed", "waiting_approval"];
/** Where a job's runs are announced: a channel (id or name) and the outcomes that are. */
export interface NotifyRule {
  channel: string;
  on: NotifyEvent[];
}
/** A job started when a run of this one ends (trigger "chain"). */
export interface ThenRule {
  job: string;
  on: ("succeeded" | "failed")[];
}

export type ChannelKind = "webhook" | "slack" | "discord" | "ntfy" | "email";
export const CHANNEL_KINDS: readonly ChannelKind[] = ["webhook", "slack", "discord", "ntfy", "email"];
/** Secret config fields are never returned: `secrets` names the ones that are set. */
export interface Channel {
  id: string;
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  secrets: string[];
  createdAt: string;
}
/** What the receiver answered a test message; `ok: false` is an answer, not an error. */
export interface ChannelTestResult {
  channel: string;
  ok: boolean;
  retry: boolean;
  status?: number;
  response: string;
  error?: string;
}
/** One announcement of a run on a channel (CONTRACT: a run's `deliveries`). */
export interface Delivery {
  id?: string;
  /** The channel's name. */
  channel: string;
  channelId?: string;
  kind?: ChannelKind;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastError?: string | null;
  nextAttemptAt?: string | null;
  deliveredAt?: string | null;
  createdAt?: string;
}

/** One child run per target Node, at most `concurrency` at once. */
export interface FanOut {
  mode: "each";
  concurrency: number;
  stopOnFailure: boolean;
  summarize: boolean;
}

/** A fan-out child as its parent run lists it. */
export interface RunChild {
  id: string;
  nodeId: string | null;
  nodeName: string | null;
  status: RunStatus;
  output: string | null;
  error: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
}

export interface FanOutSummary {
  total: number;
  succeeded: number;
  failed: number;
  skipped: number;
  cancelled?: number;
  running?: number;
  queued?: number;
}

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
}

export interface ToolCall {
  id?: string;
  name: string;
  arguments?: unknown;
}

export interface LlmStep {
  type: "llm";
  seq?: number;
  provider: string;
  model: string;
  durationMs: number;
  usage?: Usage;
  text?: string;
  /** What the model thought before answering, kept apart from `text` (shown folded). */
  reasoning?: string;
  toolCalls?: ToolCall[];
  error?: string;
  errorCode?: string;
  /** Time to first token and generation speed, when the adapter measured or the server reported them. */
  speed?: { timeToFirstTokenMs?: number; tokensPerSecond?: number };
  /** Part of `durationMs` spent loading the model first. */
  loadMs?: number;
  /** The context length the prompt was fitted to. */
  contextTokens?: number;
  /** Tool outputs replaced by a note before this turn to fit `contextTokens`. */
  removedToolOutputs?: number;
  /** E.g. that the model was not trained for tool use. */
  warning?: string;
}

export interface ToolStep {
  type: "tool";
  seq?: number;
  tool: string;
  node: string;
  arguments: unknown;
  result: unknown;
  isError: boolean;
  durationMs: number;
  /** Matches the live `tool` event of the same call. */
  callId?: string;
  nodeId?: string;
  source?: string;
  truncated?: boolean;
}

export type RunStep = LlmStep | ToolStep;

export interface Run {
  id: string;
  jobId: string;
  jobName?: string;
  trigger: RunTrigger;
  status: RunStatus;
  createdAt?: string;
  startedAt: string | null;
  finishedAt: string | null;
  output: string | null;
  error?: string | null;
  input?: unknown;
  usage?: Usage;
  steps?: RunStep[];
  pendingApproval?: PendingApproval | null;
  /** Structured output: the validated JSON of the final answer, when the job has a schema. */
  result?: unknown;
  deliveries?: Delivery[];
  /** A fan-out parent: its children and their counts. A child: its parent and its one Node. */
  children?: RunChild[];
  summary?: FanOutSummary;
  parentRunId?: string | null;
  nodeId?: string | null;
  nodeName?: string | null;
  /** A failed run's stable reason: `nodes_offline`, `no_targets`. */
  errorCode?: string | null;
  /** A cancelled run: the user who cancelled it (null when the Core did). */
  cancelledBy?: string | null;
  /** In lists: the models ("provider / model") and Nodes the run's steps used. */
  models?: string[];
  nodes?: string[];
}

export interface CronPreview {
  description: string;
  nextRuns: string[];
}

export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "waiting_approval"];
export const RUN_STATUSES: readonly RunStatus[] = [
  "queued",
  "running",
  "waiting_approval",
  "succeeded",
  "failed",
  "cancelled",
];

export type Role = "admin" | "operator" | "viewer";
export const ROLES: readonly Role[] = ["admin", "operator", "viewer"];

export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt?: string;
  lockedUntil?: string | null;
}

/** What a token is limited to: the Nodes a label selector matches, and the tools named. */
export interface TokenScopes {
  selector?: string;
  tools?: string[];
}

export interface ApiToken {
  id: string;
  name: string;
  role?: Role;
  scopes?: TokenScopes | null;
  mcpApproval?: { required?: boolean; tools?: string[] } | null;
  createdAt?: string;
  lastUsedAt?: string | null;
}

export interface CreatedApiToken {
  id: string;
  name: string;
  token: string;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: "ok" | "failed" | "denied" | (string & {});
  detail: Record<string, unknown>;
}
