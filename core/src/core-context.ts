import type { RateLimiter } from "./api/rate-limit.ts";
import type { StreamLimiter } from "./api/security-headers.ts";
import type { Channels } from "./channels/channels.ts";
import type { DeliveryWorker } from "./channels/delivery-worker.ts";
import type { Repositories } from "./database/index.ts";
import type { LlmClient, ProviderConfig } from "./llm/index.ts";
import type { McpApprovals } from "./mcp-server/mcp-approvals.ts";
import type { Metrics } from "./metrics.ts";
import type { NodeAccess } from "./nodes/node-access.ts";
import type { ApprovalGate } from "./runs/approval-gate.ts";
import type { RunEventBus } from "./runs/run-events.ts";
import type { RunQueue } from "./runs/run-queue.ts";
import type { Scheduler } from "./scheduler/cron-scheduler.ts";
import type { SecretRedactor } from "./secrets/redactor.ts";
import type { UnreadableSecrets } from "./secrets/unreadable-secrets.ts";
import type { Accounts } from "./services/accounts.ts";
import type { Audit } from "./services/audit.ts";
import type { Fleet } from "./services/fleet.ts";
import type { Jobs } from "./services/jobs.ts";
import type { LoginGuard } from "./services/login-guard.ts";
import type { McpServers } from "./services/mcp-servers.ts";
import type { NodeRollouts } from "./services/node-rollout.ts";
import type { Runs } from "./services/runs.ts";

/** Everything the HTTP routes use, built once in core.ts. Routes get this, never the database. */
export interface CoreContext {
  repos: Repositories;
  accounts: Accounts;
  fleet: Fleet;
  /** Staged Node rollouts (POST /api/nodes/update). */
  rollouts: NodeRollouts;
  jobs: Jobs;
  runs: Runs;
  mcp: McpServers;
  /** Notification channels (CONTRACT "Results that reach people"). */
  channels: Channels;
  /** Sends queued notifications (retries with backoff, resumes after a restart). */
  deliveryWorker: DeliveryWorker;
  /** The Nodes of this Core, or of the whole cluster in cluster mode. */
  hub: NodeAccess;
  events: RunEventBus;
  queue: RunQueue;
  scheduler: Scheduler;
  metrics: Metrics;
  /** The append-only audit log (GET /api/audit). */
  audit: Audit;
  /** Secret values → `[secret:NAME]` in transcripts and logs; refreshed when secrets change. */
  redactor: SecretRedactor;
  /** Refreshes the redactor from the stored secrets and provider keys. */
  refreshRedactor(): Promise<void>;
  /** Sealed values that did not open (issue 21.3), reported rather than failing every reader. */
  unreadableSecrets: UnreadableSecrets;
  approvals: ApprovalGate;
  /** Failed logins per client address (429 once over), counted in the database. */
  loginGuard: LoginGuard;
  /** MCP tool calls (through /mcp) waiting for an operator. */
  mcpApprovals: McpApprovals;
  limits: {
    /** Deliveries per webhook (429 once over). */
    webhooks: RateLimiter;
    /** Unknown-slug webhook requests per client address (429 for that address once over). */
    webhookProbes: RateLimiter;
    /** Open event streams per user. */
    eventStreams: StreamLimiter;
  };
  /** Largest webhook body accepted (FABRICORE_WEBHOOK_MAX_BYTES); larger gets 413. */
  webhookMaxBytes: number;
  /** A client for a stored provider, its API key decrypted for this use only. */
  llmFor(providerId: string): Promise<LlmClient>;
  /** A client for settings not stored (a provider form's Test before save). */
  llmForConfig(config: ProviderConfig): LlmClient;
  /** Whether the Core itself serves TLS (cookies get `Secure`). */
  tls: boolean;
  version: string;
  startedAt: Date;
}
