import type { Logger as PinoLogger } from "pino";
import type { RunNotifier } from "./channels/notifier.ts";
import type { Cluster } from "./cluster/cluster.ts";
import type { Repositories } from "./database/index.ts";
import type { Provider } from "./database/types.ts";
import type { CoreEnv } from "./env.ts";
import type { LlmClient } from "./llm/index.ts";
import type { Metrics } from "./metrics.ts";
import type { NodeAccess } from "./nodes/node-access.ts";
import type { ApprovalGate } from "./runs/approval-gate.ts";
import { startChainedRuns } from "./runs/chain-rules.ts";
import { OfflineWait } from "./runs/offline-wait.ts";
import type { RunEventBus } from "./runs/run-events.ts";
import { RunExecutor } from "./runs/run-executor.ts";
import type { RunLifecycle } from "./runs/run-lifecycle.ts";
import { DbRunQueue, type RunQueue } from "./runs/run-queue.ts";
import { CronScheduler, type Misfire, type Scheduler } from "./scheduler/cron-scheduler.ts";
import type { SecretRedactor } from "./secrets/redactor.ts";
import type { Audit } from "./services/audit.ts";
import { Jobs } from "./services/jobs.ts";
import { Runs } from "./services/runs.ts";

export interface CoreRunsOptions {
  env: CoreEnv;
  repos: Repositories;
  /** Cluster mode: the queue and the scheduler live in Redis/BullMQ, shared by every replica. */
  cluster: Cluster | undefined;
  /** This process's id on the runs it claims. */
  owner: string;
  nodes: NodeAccess;
  events: RunEventBus;
  lifecycle: RunLifecycle;
  approvals: ApprovalGate;
  notifier: RunNotifier;
  clientFor: (provider: Provider) => Promise<LlmClient>;
  metrics: Metrics;
  audit: Audit;
  redactor: SecretRedactor;
  refreshRedactor: () => Promise<void>;
  logger: PinoLogger;
}

/** Runs from start to finish: the executor, the queue that feeds it, the cron scheduler that starts
 * them, the wait for offline Nodes, and the Runs and Jobs services over them. */
export function wireRuns(options: CoreRunsOptions) {
  const { env, repos, cluster, owner, nodes, events, lifecycle, notifier, logger } = options;
  const offlineWait = new OfflineWait({
    jobs: repos.jobs,
    waits: repos.runWaits,
    nodes: repos.nodes,
    hub: nodes,
    events,
    logger,
  });
  const executor = new RunExecutor({
    runs: repos.runs,
    steps: repos.steps,
    jobs: repos.jobs,
    providers: repos.providers,
    hub: nodes,
    nodeName: async (id) => (await repos.nodes.get(id))?.name,
    nodes: repos.nodes,
    clientFor: options.clientFor,
    events,
    lifecycle,
    metrics: options.metrics,
    logger,
    toolDeadlineMs: env.FABRICORE_TOOL_TIMEOUT_SECONDS * 1000,
    toolMaxDeadlineMs: env.FABRICORE_TOOL_MAX_TIMEOUT_SECONDS * 1000,
    audit: options.audit,
    redactor: options.redactor,
    refreshRedactor: options.refreshRedactor,
    approvals: options.approvals,
    afterFinish: async (runId) => {
      await startChainedRuns(
        {
          runs: repos.runs,
          jobs: repos.jobs,
          start: (job, input, by, extra) => runs.start(job, "chain", input, by, extra),
          logger,
        },
        runId,
      );
    },
    onStatus: notifier.hook,
    offlineWait,
  });
  const queue: RunQueue = cluster
    ? cluster.runQueue({
        claim: (runId) => repos.runs.claim(runId, owner),
        execute: (runId, signal) => executor.execute(runId, signal),
        // Not the runs waiting for their Nodes before they are due (their not_before).
        queuedRunIds: () => repos.runWaits.dueQueuedIds(),
        cancelRequested: (ids) => repos.runs.cancelRequested(ids),
        concurrency: env.FABRICORE_RUN_CONCURRENCY,
        logger,
      })
    : new DbRunQueue({
        claim: () => repos.runs.claimNext(owner),
        execute: (runId, signal) => executor.execute(runId, signal),
        cancelRequested: (ids) => repos.runs.cancelRequested(ids),
        concurrency: env.FABRICORE_RUN_CONCURRENCY,
        logger,
      });
  cluster?.replicas({
    activeRunOwners: () => repos.runs.activeOwners(),
    failRunsOf: async (runOwner, reason) => {
      const failed = await lifecycle.failStale({ owner: runOwner, reason });
      for (const runId of failed) await notifier.hook(runId, "failed");
      return failed;
    },
  });
  const runs = new Runs({
    runs: repos.runs,
    steps: repos.steps,
    jobs: repos.jobs,
    queue,
    lifecycle,
    metrics: options.metrics,
    audit: options.audit,
    auditLog: repos.audit,
    approvals: options.approvals,
    deliveries: repos.deliveries,
  });
  const onCron = {
    onTrigger: async (jobId: string, firedAt: Date = new Date(), info: { catchUp: boolean } = { catchUp: false }) => {
      await repos.scheduleState.recordFire(jobId, firedAt.toISOString());
      const job = await repos.jobs.get(jobId);
      if (!job?.enabled) return;
      const run = await runs.start(job, "cron", info.catchUp ? { catchUp: true } : undefined);
      logger.info({ jobId, runId: run.id, catchUp: info.catchUp }, "cron fired");
    },
    onMisfire: (jobId: string, misfire: Misfire) => {
      logger.warn({ jobId, missed: misfire.missed, policy: misfire.policy }, misfire.reason);
      void repos.scheduleState
        .recordMisfire(jobId, new Date().toISOString(), misfire.reason, misfire.missed)
        .catch((error) => logger.error({ err: error, jobId }, "recording a missed fire failed"));
    },
    onError: (jobId: string, error: unknown) => logger.error({ err: error, jobId }, "starting a scheduled run failed"),
  };
  const scheduler: Scheduler = cluster ? cluster.cronScheduler({ ...onCron, logger }) : new CronScheduler(onCron);
  const jobs = new Jobs({
    jobs: repos.jobs,
    nodes: repos.nodes,
    providers: repos.providers,
    runs: repos.runs,
    scheduleState: repos.scheduleState,
    scheduler,
    channels: repos.channels,
  });
  return { offlineWait, queue, runs, scheduler, jobs };
}
