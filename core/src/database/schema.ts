import type { ProviderKind } from "@fabricore/protocol";
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * The database as Kysely sees it, identical on SQLite and PostgreSQL. To keep one query layer over
 * both dialects: timestamps are ISO-8601 UTC text (`new Date().toISOString()`, so they also sort
 * as text), JSON is text (parsed in the repositories), booleans are integers 0/1, ids are text.
 */

export type { ProviderKind };
export type Role = "admin" | "operator" | "viewer";
export type RunTrigger = "manual" | "cron" | "webhook" | "chain";
/** `skipped`: a fan-out child whose Node was offline when its turn came (or that a stopOnFailure
 * parent did not start); final, like succeeded/failed/cancelled. */
export type RunStatus = "queued" | "running" | "waiting_approval" | "succeeded" | "failed" | "cancelled" | "skipped";

export interface UsersTable {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  failed_logins: ColumnType<number, number | undefined, number>;
  locked_until: string | null;
  created_at: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  /** SHA-256 hex of the token; the token itself is shown once and never stored. */
  token_hash: string;
  kind: "session" | "api";
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  /** A role below the owner's, or null for the owner's role (0012). */
  role: ColumnType<Role | null, Role | null | undefined, Role | null>;
  /** JSON TokenScopes, or null: every Node and tool the role allows (0012). */
  scopes: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON ApprovalPolicy for this token's MCP tool calls, or null (0012). */
  mcp_approval: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A tool call made through /mcp, waiting for (or decided by) an operator (0012). */
export interface McpApprovalsTable {
  id: string;
  token_id: string;
  token_name: string | null;
  username: string;
  node_id: string;
  node_name: string;
  tool: string;
  source: string;
  arguments: string; // JSON, secrets redacted
  status: "pending" | "approved" | "denied" | "expired";
  requested_at: string;
  deadline: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

export interface NodesTable {
  id: string;
  name: string;
  labels: string; // JSON Record<string,string>
  token_hash: string;
  created_at: string;
  last_seen_at: string | null;
  version: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  tools: string; // JSON ToolDescriptor[] as last announced
  /** The Node's Ed25519 public key (base64url, 32 bytes), registered with its enrollment token (0004). */
  public_key: ColumnType<string | null, string | null | undefined, string | null>;
  key_registered_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the current enrollment token was spent; NULL: it can still register a key (0004). */
  token_used_at: ColumnType<string | null, string | null | undefined, string | null>;
}

/** Challenge nonces already used by a Node to connect (0004); rows past `expires_at` are purged. */
export interface NodeNoncesTable {
  nonce: string;
  expires_at: string;
}

export interface SecretsTable {
  id: string;
  name: string;
  /** AES-256-GCM envelope, see core/src/secrets. */
  ciphertext: string;
  key_version: number;
  created_at: string;
  updated_at: string;
}

export interface ProvidersTable {
  id: string;
  name: string;
  kind: ProviderKind;
  base_url: string | null;
  api_key_ciphertext: string | null;
  options: string; // JSON
  created_at: string;
  /** Sealed JSON {name: value} of the custom headers (issue 21.1); null: none. */
  headers_ciphertext: string | null;
  /** JSON array of the header names (not secret; listed by the API). */
  header_names: Generated<string>;
}

export interface JobsTable {
  id: string;
  name: string;
  prompt: string;
  model: string; // JSON {provider, model}
  fallbacks: string; // JSON [{provider, model}]
  nodes: string; // JSON string[] (ids)
  tools: string; // JSON string[] allowlist; [] = every tool of the job's Nodes
  schedule: string | null; // JSON {cron, timezone}
  webhook_slug: string | null;
  webhook_secret_ciphertext: string | null;
  max_steps: number;
  enabled: number;
  created_at: string;
  updated_at: string;
  /** JSON ApprovalPolicy or NULL (no approval needed); added by 0005. */
  approval: ColumnType<string | null, string | null | undefined, string | null>;
  /** Most prompt + completion tokens a run may spend (0006). */
  max_tokens: ColumnType<number, number | undefined, number>;
  /** Wall-clock limit of a run, in seconds (0006). */
  max_seconds: ColumnType<number, number | undefined, number>;
  /** 1: a webhook without a secret, explicitly public (0008). */
  webhook_public: ColumnType<number, number | undefined, number>;
  /** JSON Schema of the structured answer, or NULL (0008). */
  output_schema: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON [{job, on}] started after a run (0008). */
  then_jobs: ColumnType<string | null, string | null | undefined, string | null>;
  /** Kubernetes label selector, as written; its Nodes are resolved when a run starts (0013). */
  selector: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON FanOut or NULL: one run over every target Node (0013). */
  fan_out: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON NotifyRule[] (channel ids), added by 0015. */
  notify: ColumnType<string, string | undefined, string>;
  /** "wait" or NULL (fail): what a run does when every target Node is offline (0036). */
  offline_nodes: ColumnType<string | null, string | null | undefined, string | null>;
  /** How long such a run waits before it fails with nodes_offline, in seconds (0036). */
  wait_for_nodes_seconds: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface RunsTable {
  id: string;
  job_id: string;
  trigger: RunTrigger;
  status: RunStatus;
  input: string | null; // JSON
  output: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Which Core process is executing it (for crash recovery and, later, cluster mode). */
  owner: string | null;
  usage: string; // JSON {promptTokens, completionTokens}
  /** Set when a cancel is asked for a run executing somewhere (maybe another replica); its owner aborts it. */
  cancel_requested_at: string | null;
  /** JSON PendingApproval while the run is waiting_approval (0005). */
  pending_approval: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON ApprovalDecision for the pending approval, written by approve/deny (0005). */
  approval_decision: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON {event, deliveryId} of the delivery that started a webhook run (0008). */
  webhook: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON of the validated structured answer (0008). */
  result: ColumnType<string | null, string | null | undefined, string | null>;
  /** How many `then` hops led to this run (0008). */
  chain_depth: ColumnType<number, number | undefined, number>;
  /** A fan-out child: its parent run, and the one Node it works on (0013). */
  parent_run_id: ColumnType<string | null, string | null | undefined, string | null>;
  node_id: ColumnType<string | null, string | null | undefined, string | null>;
  node_name: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON RunWaiting while a queued run waits for its offline Nodes (0036). */
  waiting: ColumnType<string | null, string | null | undefined, string | null>;
  /** ISO instant before which no queue claims this queued run (0036). */
  not_before: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RunStepsTable {
  id: Generated<number>;
  run_id: string;
  seq: number;
  type: "llm" | "tool";
  data: string; // JSON step body, see CONTRACT "A run's step"
  created_at: string;
}

export interface McpServersTable {
  node_id: string;
  name: string;
  spec: string; // JSON: stored request (preset or image, mounts, env with secret refs, args, or url)
  created_at: string;
}

/** Append-only (triggers refuse UPDATE and DELETE). */
export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  /** Username, `webhook:<slug>`, `job:<name>` or `system`. */
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  outcome: "ok" | "failed" | "denied";
  detail: string; // JSON
  /** sha256 hex of a tool call's result text. */
  result_hash: string | null;
}

export interface WebhookDeliveriesTable {
  job_id: string;
  delivery_id: string;
  received_at: string;
  /** The run the delivery started (0008); NULL for rows from before. */
  run_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/** SHA-256 of accepted GitHub-style signatures, kept 24 h (0008). */
export interface WebhookSignaturesTable {
  job_id: string;
  signature_hash: string;
  run_id: string | null;
  received_at: string;
}

export type ChannelKind = "webhook" | "slack" | "discord" | "ntfy" | "email";

export interface ChannelsTable {
  id: string;
  name: string;
  kind: ChannelKind;
  config: string; // JSON: the config's parts that are not secret
  secret_ciphertext: string | null; // sealed JSON of the secret parts
  created_at: string;
}

export type DeliveryEvent = "run.succeeded" | "run.failed" | "run.waiting_approval";
export type DeliveryStatus = "pending" | "delivered" | "failed";

/** Outbound notifications of runs (0015); see migrations/0015-channels.ts. */
export interface RunDeliveriesTable {
  id: string;
  run_id: string;
  channel_id: string;
  event: DeliveryEvent;
  dedupe_key: string;
  status: DeliveryStatus;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  payload: string; // JSON
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  delivered_at: string | null;
}

export interface MasterKeysTable {
  version: number;
  fingerprint: string;
  created_at: string;
  retired_at: string | null;
}

export interface ScheduleStateTable {
  job_id: string;
  last_fire_at: string | null;
  last_misfire_at: string | null;
  last_misfire_reason: string | null;
  missed_count: ColumnType<number, number | undefined, number>;
}

/** Login attempts per client address and fixed window (0007); see LoginAttemptsRepo. */
export interface LoginAttemptsTable {
  bucket: string;
  window_start: string;
  attempts: number;
  refused: ColumnType<number, number | undefined, number>;
}

/** A Node's stats per 5-minute bucket (0030), for its 24-hour sparklines. */
export interface NodeStatsTable {
  node_id: string;
  bucket: string;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  load1: number | null;
  samples: ColumnType<number, number | undefined, number>;
}

/** A staged Node rollout (0032, services/node-rollout.ts). */
export interface NodeRolloutsTable {
  id: string;
  version: string;
  target: string; // JSON {nodeIds: string[]} | {selector: string}
  batch_size: number;
  max_failures: number;
  deadline_ms: number;
  state: string;
  reason: string | null;
  active: number | null;
  current_batch: number;
  batch_count: number;
  batch_started_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** One Node of a rollout (0032). */
export interface NodeRolloutNodesTable {
  rollout_id: string;
  node_id: string;
  node_name: string;
  batch: number;
  position: number;
  state: string;
  code: string | null;
  reason: string | null;
  from_version: string | null;
  started_at: string | null;
  finished_at: string | null;
}

/** The last update outcome a Node reported (0032). */
export interface NodeUpdateResultsTable {
  node_id: string;
  outcome: string;
  from_version: string;
  to_version: string;
  code: string | null;
  reason: string | null;
  at: string;
  received_at: string;
}

export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  mcp_approvals: McpApprovalsTable;
  nodes: NodesTable;
  secrets: SecretsTable;
  providers: ProvidersTable;
  jobs: JobsTable;
  runs: RunsTable;
  run_steps: RunStepsTable;
  mcp_servers: McpServersTable;
  node_nonces: NodeNoncesTable;
  schedule_state: ScheduleStateTable;
  audit_log: AuditLogTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_signatures: WebhookSignaturesTable;
  master_keys: MasterKeysTable;
  login_attempts: LoginAttemptsTable;
  channels: ChannelsTable;
  run_deliveries: RunDeliveriesTable;
  node_stats: NodeStatsTable;
  node_rollouts: NodeRolloutsTable;
  node_rollout_nodes: NodeRolloutNodesTable;
  node_update_results: NodeUpdateResultsTable;
}

export type UserRow = Selectable<UsersTable>;
export type NodeRow = Selectable<NodesTable>;
export type JobRow = Selectable<JobsTable>;
export type NewJob = Insertable<JobsTable>;
export type JobUpdate = Updateable<JobsTable>;
export type RunRow = Selectable<RunsTable>;
export type RunStepRow = Selectable<RunStepsTable>;
export type ProviderRow = Selectable<ProvidersTable>;
export type SecretRow = Selectable<SecretsTable>;
export type McpServerRow = Selectable<McpServersTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
