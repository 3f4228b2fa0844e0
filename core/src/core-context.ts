import type { Repositories } from "./database/index.ts";
import type { LlmClient } from "./llm/index.ts";
import type { Metrics } from "./metrics.ts";
import type { NodeAccess } from "./nodes/node-access.ts";
import type { Scheduler } from "./scheduler/cron-scheduler.ts";
import type { RunEventBus } from "./scheduler/run-events.ts";
import type { RunQueue } from "./scheduler/run-queue.ts";
import type { Accounts } from "./services/accounts.ts";
import type { Fleet } from "./services/fleet.ts";
import type { Jobs } from "./services/jobs.ts";
import type { McpServers } from "./services/mcp-servers.ts";
import type { Runs } from "./services/runs.ts";

/** Everything the HTTP routes use, built once in core.ts. Routes get this, never the database. */
export interface CoreContext {
  repos: Repositories;
  accounts: Accounts;
  fleet: Fleet;
  jobs: Jobs;
  runs: Runs;
  mcp: McpServers;
  /** The Nodes of this Core, or of the whole cluster in cluster mode. */
  hub: NodeAccess;
  events: RunEventBus;
  queue: RunQueue;
  scheduler: Scheduler;
  metrics: Metrics;
  /** A client for a stored provider, its API key decrypted for this use only. */
  llmFor(providerId: string): Promise<LlmClient>;
  /** Whether the Core itself serves TLS (cookies get `Secure`). */
  tls: boolean;
  version: string;
  startedAt: Date;
}
