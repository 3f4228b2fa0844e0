import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Logger as PinoLogger } from "pino";
import { RateLimiter } from "./api/rate-limit.ts";
import { installScriptRoutes } from "./api/routes/install-script.ts";
import { nodeBinaryRoutes } from "./api/routes/node-binary.ts";
import { nodeIdentityRoutes } from "./api/routes/node-identity.ts";
import { StreamLimiter } from "./api/security-headers.ts";
import { buildApp, parseTrustProxy, trustProxyPredicate } from "./app.ts";
import { Channels } from "./channels/channels.ts";
import { DeliveryWorker } from "./channels/delivery-worker.ts";
import { RunNotifier } from "./channels/notifier.ts";
import { Cluster } from "./cluster/cluster.ts";
import type { CoreContext } from "./core-context.ts";
import { dataDirWarnings } from "./data-dir.ts";
import {
  createRepositories,
  MasterKeysRepo,
  migrateToLatest,
  openDatabase,
  type Repositories,
} from "./database/index.ts";
import { DELIVERY_MEMORY_MS, type WebhookDeliveriesRepo } from "./database/repos/webhook-deliveries-repo.ts";
import type { Provider } from "./database/types.ts";
import type { CoreEnv } from "./env.ts";
import { clientForProvider, createLlmClient, type LlmClient, type ProviderConfig } from "./llm/index.ts";
import { McpApprovals, mountFleetMcp } from "./mcp-server/index.ts";
import { createMetrics } from "./metrics.ts";
import { instrumentToolCalls } from "./nodes/instrumented-node-access.ts";
import type { NodeAccess } from "./nodes/node-access.ts";
import { deriveChallengeKey } from "./nodes/node-auth.ts";
import { NodeBinaries, servedNodeVersion } from "./nodes/node-binaries.ts";
import { NodeHub } from "./nodes/node-hub.ts";
import { NodeIdentityService } from "./nodes/node-identity-service.ts";
import { NodeStatsRecorder } from "./nodes/node-stats-recorder.ts";
import { ReleaseKey } from "./nodes/release-key.ts";
import { ApprovalGate } from "./runs/approval-gate.ts";
import { startChainedRuns } from "./runs/chain-rules.ts";
import { OfflineWait } from "./runs/offline-wait.ts";
import { LocalRunEventBus, type RunEventBus } from "./runs/run-events.ts";
import { RunExecutor } from "./runs/run-executor.ts";
import { RunLifecycle } from "./runs/run-lifecycle.ts";
import { DbRunQueue, type RunQueue } from "./runs/run-queue.ts";
import { CronScheduler, type Misfire, type Scheduler } from "./scheduler/cron-scheduler.ts";
import { RunRetention } from "./scheduler/run-retention.ts";
import { SecretsError } from "./secrets/errors.ts";
import { loadMasterKey } from "./secrets/index.ts";
import { openKeyRing, readNextMasterKey } from "./secrets/key-ring.ts";
import { SecretRedactor } from "./secrets/redactor.ts";
import { type SealedKind, UnreadableSecrets, unreadableMessage } from "./secrets/unreadable-secrets.ts";
import { Accounts } from "./services/accounts.ts";
import { Audit } from "./services/audit.ts";
import { Fleet } from "./services/fleet.ts";
import { Jobs } from "./services/jobs.ts";
import { LoginGuard } from "./services/login-guard.ts";
import { mcpPresetCatalog } from "./services/mcp-presets.ts";
import { McpServers } from "./services/mcp-servers.ts";
import { NodeRollouts } from "./services/node-rollout.ts";
import { headerRedactions, providerConfig } from "./services/provider-credentials.ts";
import { Runs } from "./services/runs.ts";

export const CORE_VERSION: string = (
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8")) as {
    version: string;
  }
).version;

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

/** Builds a Core from its settings: storage, secrets, the node hub, scheduler, queue, API. */
export async function createCore(env: CoreEnv, options: CoreOptions): Promise<Core> {
  const { logger } = options;
  // Before anything is created in it: what a previous version (or a copy) left readable (21.4).
  const wideModes = dataDirWarnings(env.dataDir);
  if (wideModes.length)
    logger.warn(
      { paths: wideModes },
      "the data dir is readable by other users: it holds run transcripts, tool outputs and the master key",
    );
  const masterKey = loadMasterKey({ env: env.FABRICORE_MASTER_KEY, dataDir: env.dataDir });
  if (masterKey.created)
    logger.warn({ path: masterKey.path }, "generated a new master key; back it up with the database");
  const database = openDatabase({ url: env.FABRICORE_DATABASE_URL, dataDir: env.dataDir });
  await migrateToLatest(database.db);
  // The key's version comes from the database's key ring (a wrong key stops the Core here); an
  // interrupted rotate-key leaves master.key.next, loaded too so every value still opens.
  const box = await openKeyRing(new MasterKeysRepo(database.db), masterKey.key, readNextMasterKey(env.dataDir)).catch(
    async (error: unknown) => {
      await database.close();
      throw error;
    },
  );
  const repos = createRepositories(database.db, box);
  // Headers an older Core kept in plain `options` are sealed now (issue 21.1); on SQLite the file is
  // then rewritten (VACUUM, WAL truncated) so the old plain text does not linger in free pages.
  const sealedHeaders = await repos.providers.sealLegacyHeaders();
  if (sealedHeaders > 0) {
    if (database.dialect === "sqlite") {
      await sql`VACUUM`.execute(database.db);
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(database.db);
    }
    logger.warn({ providers: sealedHeaders }, "sealed provider headers that an older version stored in plain text");
  }
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
  const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const nodeVersion = env.FABRICORE_NODE_VERSION ?? servedNodeVersion(repoRoot, CORE_VERSION);
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
  // A sealed value that does not open is reported (log, audit, /metrics, GET /api/secrets/unreadable)
  // and skipped, so only what uses it fails (issue 21.3).
  const unreadableSecrets = new UnreadableSecrets({
    onNew: (row) => {
      logger.error(
        { kind: row.kind, name: row.name, id: row.id, code: row.code },
        unreadableMessage(row.kind, row.name, row.code),
      );
      void audit.record({
        actor: "core",
        action: "secret.unreadable",
        target: `${row.kind}:${row.name}`,
        outcome: "failed",
        detail: { id: row.id, code: row.code },
      });
    },
  });
  metrics.secretsUnreadable.collect(() => unreadableSecrets.countByKind());
  // One way from a stored provider to its model client, for runs and the provider routes alike.
  const clientFor = clientForProvider(
    (provider: Provider) => providerConfig(repos.providers, provider, unreadableSecrets),
    llmFactory,
  );
  const refreshRedactor = async () => {
    const found: Array<{ kind: SealedKind; id: string; name: string; code: SecretsError["code"] }> = [];
    const note = (kind: SealedKind) => (row: { id: string; name: string }, error: unknown) => {
      if (!(error instanceof SecretsError)) throw error;
      found.push({ kind, id: row.id, name: row.name, code: error.code });
    };
    const values = await repos.secrets.listValues(note("secret"));
    if (channels) values.push(...(await channels.secretValues(note("channel_secret"))));
    for (const provider of await repos.providers.list()) {
      let apiKey: string | undefined;
      try {
        apiKey = provider.hasApiKey ? await repos.providers.getApiKey(provider.id) : undefined;
      } catch (error) {
        note("provider_api_key")({ id: provider.id, name: provider.name }, error);
      }
      if (apiKey) values.push({ name: `provider:${provider.name}`, value: apiKey });
      if (!provider.headers.length) continue;
      try {
        values.push(...headerRedactions(provider.name, await repos.providers.getHeaders(provider.id)));
      } catch (error) {
        note("provider_header")({ id: provider.id, name: provider.name }, error);
      }
    }
    unreadableSecrets.replaceScan(["secret", "channel_secret", "provider_api_key", "provider_header"], found);
    redactor.set(values);
  };
  channels = new Channels({
    channels: repos.channels,
    jobs: repos.jobs,
    publicUrl,
    timeoutMs: env.FABRICORE_DELIVERY_TIMEOUT_SECONDS * 1000,
    secretsChanged: () => refreshRedactor(),
  });
  await refreshRedactor();
  // Notifications: a status change queues deliveries in the database; the worker sends them (in a
  // cluster every replica runs one, and the lease on each row means one of them sends it).
  if (!cluster) await repos.deliveries.releaseLeases();
  const deliveryWorker = new DeliveryWorker({
    deliveries: repos.deliveries,
    channels: repos.channels,
    owner,
    metrics,
    logger: logger.child({ room: "channels" }),
    redactor,
    options: {
      maxAttempts: env.FABRICORE_DELIVERY_MAX_ATTEMPTS,
      baseDelayMs: env.FABRICORE_DELIVERY_RETRY_BASE_MS,
      timeoutMs: env.FABRICORE_DELIVERY_TIMEOUT_SECONDS * 1000,
    },
  });
  const notifier = new RunNotifier({
    runs: repos.runs,
    jobs: repos.jobs,
    nodes: repos.nodes,
    channels: repos.channels,
    deliveries: repos.deliveries,
    publicUrl,
    wake: () => deliveryWorker.wake(),
    logger,
  });
  for (const runId of staleRuns) await notifier.hook(runId, "failed");
  const approvals = new ApprovalGate({
    runs: repos.runs,
    lifecycle,
    pollMs: options.approvalPollMs,
    onStatus: notifier.hook,
  });

  let fleet: Fleet;
  let mcp: McpServers;
  let identity: NodeIdentityService;
  let rollouts: NodeRollouts;
  const hubLogger = logger.child({ room: "hub" });
  // Heartbeat stats over time for the Node page's sparklines (issue 22.5).
  const statsRecorder = new NodeStatsRecorder({
    repo: repos.nodeStats,
    onError: (error, nodeId) => logger.warn({ err: error, nodeId }, "recording a node's stats history failed"),
  });
  const hub = new NodeHub({
    authenticate: (credentials) => identity.authenticate(credentials),
    desiredMcpServers: (nodeId) => mcp.desiredFor(nodeId),
    heartbeatIntervalMs: env.FABRICORE_HEARTBEAT_SECONDS * 1000,
    maxToolListBytes: env.FABRICORE_NODE_TOOLS_MAX_BYTES,
    servedNodeVersion: nodeVersion,
    updateKey: releaseKey.publicKey,
    offersNodeVersion: (nodeId) => rollouts.offersVersion(nodeId),
    onUpdateResult: (nodeId, result) => void rollouts.nodeReported(nodeId, result),
    trustProxy: trustProxyPredicate(parseTrustProxy(env.FABRICORE_TRUST_PROXY)),
    logger: hubLogger,
    onOnline: (nodeId, hello) => {
      metrics.nodeConnected(nodeId, hub.get(nodeId)?.name ?? nodeId);
      void repos.nodes
        .recordHello(nodeId, {
          version: hello.nodeVersion,
          hostname: hello.hostname,
          os: hello.os,
          arch: hello.arch,
          tools: hello.tools,
          at: new Date().toISOString(),
        })
        .catch((error) => logger.error({ err: error, nodeId }, "recording a node's hello failed"));
      clusterHub?.nodeChanged(nodeId);
      // Runs waiting for this Node (a job's offlineNodes "wait") are due now.
      void offlineWait.nodeOnline(nodeId, (runId) => queue.enqueue(runId));
      void rollouts.nodeOnline(nodeId);
    },
    onOffline: (nodeId) => {
      clusterHub?.nodeChanged(nodeId);
      statsRecorder.forget(nodeId);
      void repos.nodes.recordSeen(nodeId, new Date().toISOString()).catch(() => {});
    },
    onToolsChanged: (nodeId, tools) => {
      void repos.nodes.updateTools(nodeId, tools).catch(() => {});
      clusterHub?.nodeChanged(nodeId);
    },
    onMcpStatus: (nodeId) => clusterHub?.nodeChanged(nodeId),
    // Counted, and its stats folded into the Node's 5-minute bucket (written about once a minute,
    // not per heartbeat; the hub keeps last-seen and the latest stats in memory).
    onHeartbeat: (nodeId, params) => {
      metrics.heartbeats.inc();
      if (params.stats) statsRecorder.record(nodeId, params.stats);
    },
  });
  // What the executor and the services use: this hub, or in cluster mode every replica's Nodes.
  const clusterHub = cluster?.hubFor(hub);
  // Every tool call, a run's or /mcp's, goes through this one wrapper, which counts and times it.
  const nodes: NodeAccess = instrumentToolCalls(clusterHub ?? hub, metrics);
  fleet = new Fleet({
    nodes: repos.nodes,
    hub: nodes,
    servedNodeVersion: nodeVersion,
    updateResults: repos.nodeUpdateResults,
  });
  rollouts = new NodeRollouts({
    rollouts: repos.nodeRollouts,
    results: repos.nodeUpdateResults,
    nodes: repos.nodes,
    hub: {
      live: (nodeId) => {
        const live = nodes.get(nodeId);
        return live && { version: live.hello.nodeVersion, connectedAt: live.connectedAt };
      },
      offer: (nodeId, version) => hub.offerUpdate(nodeId, version),
    },
    servedVersion: nodeVersion,
    policy: env.FABRICORE_NODE_UPDATE_POLICY,
    audit: (action, target, detail, outcome) => void audit.record({ actor: "core", action, target, detail, outcome }),
    logger: logger.child({ room: "rollout" }),
  });
  // Nodes prove themselves with their own keys; challenge nonces are MACed with a key derived from
  // the master key so that every replica of a cluster accepts the nonces of the others.
  identity = new NodeIdentityService({
    nodes: repos.nodes,
    hub: nodes,
    challengeKey: deriveChallengeKey(masterKey.key),
  });
  mcp = new McpServers({
    repo: repos.mcpServers,
    secrets: repos.secrets,
    hub: nodes,
    fleet,
    presets: mcpPresetCatalog,
    redactor,
  });

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
    clientFor,
    events,
    lifecycle,
    metrics,
    logger,
    toolDeadlineMs: env.FABRICORE_TOOL_TIMEOUT_SECONDS * 1000,
    toolMaxDeadlineMs: env.FABRICORE_TOOL_MAX_TIMEOUT_SECONDS * 1000,
    audit,
    redactor,
    refreshRedactor,
    approvals,
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
  metrics.bindSources({
    liveRuns: () => repos.runs.countLive(),
    deliveriesPending: () => repos.deliveries.countPending(),
    executing: () => queue.activeCount,
    // This process's connections (in cluster mode each replica reports its own; sum() them).
    nodesOnline: () => hub.onlineCount(),
    onError: (what, error) => logger.warn({ err: error }, `reading ${what} for /metrics failed`),
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
    metrics,
    audit,
    auditLog: repos.audit,
    approvals,
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

  const uiDir = env.FABRICORE_UI_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");
  const app = await buildApp(ctx, {
    logger,
    uiDir,
    trustProxy: parseTrustProxy(env.FABRICORE_TRUST_PROXY),
    https: env.FABRICORE_TLS_CERT
      ? { cert: readFileSync(env.FABRICORE_TLS_CERT), key: readFileSync(env.FABRICORE_TLS_KEY!) }
      : undefined,
  });
  await app.register(async (scope) =>
    nodeIdentityRoutes(scope, {
      identity,
      resolveNode: (idOrName) => fleet.get(idOrName),
      updateKey: releaseKey.publicKey,
    }),
  );
  const nodeBinaries = new NodeBinaries(resolve(env.FABRICORE_NODE_BINARY_DIR ?? join(repoRoot, "dist")), {
    gzipDir: join(env.dataDir, "cache", "node-binaries"),
  });
  await app.register(async (scope) => nodeBinaryRoutes(scope, { binaries: nodeBinaries, nodeVersion, releaseKey }));
  await app.register(async (scope) =>
    installScriptRoutes(scope, { binaries: nodeBinaries, nodeVersion, publicUrl: env.FABRICORE_PUBLIC_URL }),
  );
  await mountFleetMcp(app, ctx, {
    toolDeadlineMs: env.FABRICORE_TOOL_TIMEOUT_SECONDS * 1000,
    callsPerMinute: env.FABRICORE_MCP_CALLS_PER_MINUTE,
    maxListedTools: env.FABRICORE_MCP_MAX_TOOLS,
    logger: logger.child({ room: "mcp-server" }),
  });
  app.server.on("upgrade", (request, socket, head) => {
    if (!hub.handleUpgrade(request, socket, head)) socket.destroy();
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

/** Accepted webhook deliveries and signatures are remembered DELIVERY_MEMORY_MS (24 h) and at most
 * DELIVERY_MEMORY_PER_JOB per job: forgotten hourly, and once at start. */
function deliveryHousekeeping(repo: WebhookDeliveriesRepo, logger: PinoLogger) {
  let timer: NodeJS.Timeout | undefined;
  const sweep = async () => {
    try {
      const before = new Date(Date.now() - DELIVERY_MEMORY_MS).toISOString();
      const forgotten = (await repo.forgetBefore(before)) + (await repo.trimSignatures());
      if (forgotten) logger.info({ forgotten }, "forgot old webhook deliveries");
    } catch (error) {
      logger.warn({ err: error }, "forgetting old webhook deliveries failed; retrying in an hour");
    }
  };
  return {
    start() {
      void sweep();
      timer = setInterval(() => void sweep(), 3600_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
