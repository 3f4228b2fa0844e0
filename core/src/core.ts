import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import { RateLimiter } from "./api/rate-limit.ts";
import { StreamLimiter } from "./api/security-headers.ts";
import type { Channels } from "./channels/channels.ts";
import { Cluster } from "./cluster/cluster.ts";
import type { CoreContext } from "./core-context.ts";
import { deliveryHousekeeping } from "./core-housekeeping.ts";
import { buildHttp } from "./core-http.ts";
import { wireNodes } from "./core-nodes.ts";
import { wireNotifications } from "./core-notifications.ts";
import { wireRuns } from "./core-runs.ts";
import { wireSecrets } from "./core-secrets.ts";
import { openStorage } from "./core-storage.ts";
import { CORE_VERSION, REPO_ROOT } from "./core-version.ts";
import type { Repositories } from "./database/index.ts";
import type { CoreEnv } from "./env.ts";
import { createLlmClient, type LlmClient, type ProviderConfig } from "./llm/index.ts";
import { McpApprovals } from "./mcp-server/index.ts";
import { createMetrics } from "./metrics.ts";
import { servedNodeVersion } from "./nodes/node-binaries.ts";
import type { NodeHub } from "./nodes/node-hub.ts";
import { ReleaseKey } from "./nodes/release-key.ts";
import { ApprovalGate } from "./runs/approval-gate.ts";
import { LocalRunEventBus, type RunEventBus } from "./runs/run-events.ts";
import { RunLifecycle } from "./runs/run-lifecycle.ts";
import { RunRetention } from "./scheduler/run-retention.ts";
import { SecretRedactor } from "./secrets/redactor.ts";
import { Accounts } from "./services/accounts.ts";
import { Audit } from "./services/audit.ts";
import { LoginGuard } from "./services/login-guard.ts";

export { CORE_VERSION } from "./core-version.ts";

export interface CoreOptions {
  logger: PinoLogger;
  /** Overrides how model clients are made (tests pass one with a custom fetch). */
  llmFactory?: (provider: ProviderConfig) => LlmClient;
  now?: () => Date;
  /** Shared with the logger's destination (main.ts) so log lines are redacted too. */
  redactor?: SecretRedactor;
  /** How often a run waiting for approval re-reads the database (tests make it short). */
  approvalPollMs?: number;
}

export interface Core {
  app: FastifyInstance;
  ctx: CoreContext;
  repos: Repositories;
  /** This process's hub: the Nodes connected here (ctx.hub is what the services use: in cluster
   * mode every replica's Nodes, and with tool calls counted — nodes/instrumented-node-access.ts). */
  hub: NodeHub;
  /** Admin password when this start created the admin user with a random one (print it once). */
  adminPassword: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Builds a Core from its settings: storage, secrets, the node hub, scheduler, queue, API. This is the
 * composition root; each part is wired in its own file (core-storage, core-secrets,
 * core-notifications, core-nodes, core-runs, core-http), and the start/stop order lives here. */
export async function createCore(env: CoreEnv, options: CoreOptions): Promise<Core> {
  const { logger } = options;
  const { database, repos, masterKey } = await openStorage(env, logger);
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

  // Cluster mode (FABRICORE_REDIS_URL): the queue, scheduler, event bus and Node routing live in
  // Redis/BullMQ, shared by every replica; `owner` is this replica's id there.
  const cluster = env.FABRICORE_REDIS_URL
    ? new Cluster({
        redisUrl: env.FABRICORE_REDIS_URL,
        prefix: env.FABRICORE_REDIS_PREFIX,
        replicaId: owner,
        ttlMs: env.FABRICORE_REPLICA_TTL_SECONDS * 1000,
        logger: logger.child({ room: "cluster" }),
      })
    : undefined;

  // Runs a previous process left running cannot be resumed (their model conversation lived in
  // memory): fail them with the reason rather than leaving them "running" forever. Not in cluster
  // mode: other replicas' runs are running; the replica registry fails only those of dead owners.
  const staleRuns = cluster
    ? []
    : await repos.runs.failStale({
        reason: "the Core stopped while this run was executing (crash or restart); start it again",
      });
  if (staleRuns.length) logger.warn({ runs: staleRuns }, "marked runs left running by a previous Core as failed");

  const metrics = createMetrics({ maxNodeLabels: env.FABRICORE_METRICS_NODE_LABELS });
  // The Node version this Core serves (GET /api/nodes/binary/:platform): a Node reporting another
  // one shows `updateAvailable` in GET /api/nodes.
  const nodeVersion = env.FABRICORE_NODE_VERSION ?? servedNodeVersion(REPO_ROOT, CORE_VERSION);
  // Signs the Node builds this Core serves; Nodes pin its public key at enrollment (self-update).
  const releaseKey = ReleaseKey.open(env.FABRICORE_NODE_RELEASE_KEY ?? join(env.dataDir, "node-release-key.pem"));
  const events: RunEventBus = cluster?.events ?? new LocalRunEventBus();
  const lifecycle = new RunLifecycle({ runs: repos.runs, events, logger });
  const llmFactory = options.llmFactory ?? ((provider: ProviderConfig) => createLlmClient(provider));
  const audit = new Audit(repos.audit, logger);
  const redactor = options.redactor ?? new SecretRedactor();
  const publicUrl =
    env.FABRICORE_PUBLIC_URL ??
    `${env.FABRICORE_TLS_CERT ? "https" : "http"}://${env.FABRICORE_HOST.includes(":") ? `[${env.FABRICORE_HOST}]` : env.FABRICORE_HOST}:${env.FABRICORE_PORT}`;
  let channels: Channels | undefined;
  const { unreadableSecrets, clientFor, refreshRedactor } = wireSecrets({
    repos,
    audit,
    metrics,
    redactor,
    llmFactory,
    logger,
    channels: () => channels,
  });
  const notifications = await wireNotifications({
    env,
    repos,
    owner,
    clustered: cluster !== undefined,
    publicUrl,
    metrics,
    redactor,
    refreshRedactor,
    logger,
  });
  channels = notifications.channels;
  const { deliveryWorker, notifier } = notifications;
  await refreshRedactor();
  for (const runId of staleRuns) await notifier.hook(runId, "failed");
  const approvals = new ApprovalGate({
    runs: repos.runs,
    lifecycle,
    pollMs: options.approvalPollMs,
    onStatus: notifier.hook,
  });

  const { hub, nodes, statsRecorder, fleet, rollouts, identity, mcp, binaries, builds } = wireNodes({
    env,
    repos,
    cluster,
    nodeVersion,
    releaseKey,
    masterKey,
    metrics,
    audit,
    redactor,
    logger,
    // Runs waiting for this Node (a job's offlineNodes "wait") are due now.
    onNodeOnline: (nodeId) => void offlineWait.nodeOnline(nodeId, (runId) => queue.enqueue(runId)),
  });
  const { offlineWait, queue, runs, scheduler, jobs } = wireRuns({
    env,
    repos,
    cluster,
    owner,
    nodes,
    events,
    lifecycle,
    approvals,
    notifier,
    clientFor,
    metrics,
    audit,
    redactor,
    refreshRedactor,
    logger,
  });
  metrics.bindSources({
    liveRuns: () => repos.runs.countLive(),
    deliveriesPending: () => repos.deliveries.countPending(),
    executing: () => queue.activeCount,
    // This process's connections (in cluster mode each replica reports its own; sum() them).
    nodesOnline: () => hub.onlineCount(),
    onError: (what, error) => logger.warn({ err: error }, `reading ${what} for /metrics failed`),
  });
  const accounts = new Accounts({ users: repos.users, tokens: repos.tokens });
  const admin = await accounts.ensureAdmin(env.FABRICORE_ADMIN_PASSWORD);
  const loginGuard = new LoginGuard({
    repo: repos.loginAttempts,
    audit,
    limit: env.FABRICORE_LOGIN_FAILURES_PER_MINUTE,
  });

  const ctx: CoreContext = {
    repos,
    accounts,
    fleet,
    rollouts,
    jobs,
    runs,
    mcp,
    channels,
    deliveryWorker,
    hub: nodes,
    events,
    queue,
    scheduler,
    metrics,
    audit,
    redactor,
    refreshRedactor,
    unreadableSecrets,
    approvals,
    loginGuard,
    mcpApprovals: new McpApprovals({ repo: repos.mcpApprovals, audit, redactor, pollMs: options.approvalPollMs }),
    limits: {
      webhooks: new RateLimiter({ limit: env.FABRICORE_WEBHOOK_RATE_PER_MINUTE, windowMs: 60_000 }),
      webhookProbes: new RateLimiter({ limit: env.FABRICORE_WEBHOOK_UNKNOWN_PER_MINUTE, windowMs: 60_000 }),
      eventStreams: new StreamLimiter(env.FABRICORE_SSE_STREAMS_PER_USER),
    },
    webhookMaxBytes: env.FABRICORE_WEBHOOK_MAX_BYTES,
    llmFor: async (providerId) => {
      const provider = await repos.providers.get(providerId);
      if (!provider) throw new Error(`provider ${providerId} not found`);
      return clientFor(provider);
    },
    llmForConfig: (config) => llmFactory(config),
    tls: Boolean(env.FABRICORE_TLS_CERT),
    version: CORE_VERSION,
    startedAt: new Date(),
  };

  const app = await buildHttp({
    env,
    ctx,
    hub,
    identity,
    binaries,
    nodeVersion: () => builds.version,
    releaseKey,
    logger,
  });

  const forgetDeliveries = deliveryHousekeeping(repos.webhookDeliveries, logger);
  const retention = new RunRetention({ runs: repos.runs, days: env.FABRICORE_RUN_RETENTION_DAYS, logger });
  let closed = false;
  return {
    app,
    ctx,
    repos,
    hub,
    adminPassword: admin.password,
    async listen() {
      await cluster?.start();
      // Before Nodes can connect: their hello asks whether a rollout offers them the version.
      await rollouts.start();
      await builds.start();
      const address = await app.listen({ host: env.FABRICORE_HOST, port: env.FABRICORE_PORT });
      queue.start();
      loginGuard.start();
      deliveryWorker.start();
      await jobs.scheduleAll();
      forgetDeliveries.start();
      retention.start();
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      loginGuard.stop();
      forgetDeliveries.stop();
      retention.stop();
      rollouts.close();
      builds.close();
      await scheduler.stop();
      await queue.stop("the Core is shutting down");
      await deliveryWorker.stop();
      await hub.close();
      await statsRecorder.flushAll();
      await cluster?.close();
      await app.close();
      await database.close();
    },
  };
}
