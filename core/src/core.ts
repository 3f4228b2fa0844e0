import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "./app.ts";
import type { CoreContext } from "./core-context.ts";
import { createRepositories, migrateToLatest, openDatabase, type Repositories } from "./database/index.ts";
import type { CoreEnv } from "./env.ts";
import { createLlmClient, type LlmClient, type ProviderConfig } from "./llm/index.ts";
import { createMetrics } from "./metrics.ts";
import { mcpPresetCatalog } from "./nodes/mcp-presets.ts";
import { NodeHub } from "./nodes/node-hub.ts";
import { CronScheduler } from "./scheduler/cron-scheduler.ts";
import { LocalRunEventBus } from "./scheduler/run-events.ts";
import { RunExecutor } from "./scheduler/run-executor.ts";
import { DbRunQueue } from "./scheduler/run-queue.ts";
import { loadMasterKey, SecretBox } from "./secrets/index.ts";
import { Accounts } from "./services/accounts.ts";
import { Fleet } from "./services/fleet.ts";
import { Jobs } from "./services/jobs.ts";
import { McpServers } from "./services/mcp-servers.ts";
import { Runs } from "./services/runs.ts";

export const CORE_VERSION: string = (
  JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "..", "package.json"), "utf8")) as {
    version: string;
  }
).version;

export interface CoreOptions {
  logger: Logger;
  /** Overrides how model clients are made (tests pass one with a custom fetch). */
  llmFactory?: (provider: ProviderConfig) => LlmClient;
  now?: () => Date;
}

export interface Core {
  app: FastifyInstance;
  ctx: CoreContext;
  repos: Repositories;
  /** Admin password when this start created the admin user with a random one (print it once). */
  adminPassword: string | undefined;
  listen(): Promise<string>;
  close(): Promise<void>;
}

/** Builds a Core from its settings: storage, secrets, the node hub, scheduler, queue, API. */
export async function createCore(env: CoreEnv, options: CoreOptions): Promise<Core> {
  const { logger } = options;
  const masterKey = loadMasterKey({ env: env.FABRICORE_MASTER_KEY, dataDir: env.dataDir });
  if (masterKey.created)
    logger.warn({ path: masterKey.path }, "generated a new master key; back it up with the database");
  const box = new SecretBox({ current: { version: 1, key: masterKey.key } });
  const database = openDatabase({ url: env.FABRICORE_DATABASE_URL, dataDir: env.dataDir });
  await migrateToLatest(database.db);
  const repos = createRepositories(database.db, box);
  const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

  // Runs a previous process left running cannot be resumed (their model conversation lived in
  // memory): fail them with the reason rather than leaving them "running" forever.
  const stale = await repos.runs.failStale({
    reason: "the Core stopped while this run was executing (crash or restart); start it again",
  });
  if (stale.length) logger.warn({ runs: stale }, "marked runs left running by a previous Core as failed");

  const metrics = createMetrics();
  const events = new LocalRunEventBus();
  const llmFactory = options.llmFactory ?? ((provider: ProviderConfig) => createLlmClient(provider));

  let fleet: Fleet;
  let mcp: McpServers;
  const hubLogger = logger.child({ room: "hub" });
  const hub = new NodeHub({
    authenticate: (token) => fleet.authenticate(token),
    desiredMcpServers: (nodeId) => mcp.desiredFor(nodeId),
    heartbeatIntervalMs: env.FABRICORE_HEARTBEAT_SECONDS * 1000,
    logger: {
      debug: (f, m) => hubLogger.debug(f, m),
      info: (f, m) => hubLogger.info(f, m),
      warn: (f, m) => hubLogger.warn(f, m),
      error: (f, m) => hubLogger.error(f, m),
    },
    onOnline: (nodeId, hello) => {
      metrics.nodesOnline.set(hub.onlineCount());
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
    },
    onOffline: (nodeId) => {
      metrics.nodesOnline.set(hub.onlineCount());
      void repos.nodes.recordSeen(nodeId, new Date().toISOString()).catch(() => {});
    },
    onToolsChanged: (nodeId, tools) => {
      void repos.nodes.updateTools(nodeId, tools).catch(() => {});
    },
  });
  fleet = new Fleet({ nodes: repos.nodes, hub });
  mcp = new McpServers({ repo: repos.mcpServers, secrets: repos.secrets, hub, fleet, presets: mcpPresetCatalog });

  const executor = new RunExecutor({
    runs: repos.runs,
    steps: repos.steps,
    jobs: repos.jobs,
    providers: repos.providers,
    hub,
    nodeName: async (id) => (await repos.nodes.get(id))?.name,
    llm: llmFactory,
    events,
    metrics,
    logger,
    toolDeadlineMs: env.FABRICORE_TOOL_TIMEOUT_SECONDS * 1000,
  });
  const queue = new DbRunQueue({
    claim: () => repos.runs.claimNext(owner),
    execute: (runId, signal) => executor.execute(runId, signal),
    concurrency: env.FABRICORE_RUN_CONCURRENCY,
    logger,
  });
  const runs = new Runs({ runs: repos.runs, steps: repos.steps, jobs: repos.jobs, queue, events, metrics });
  const scheduler = new CronScheduler({
    onTrigger: async (jobId) => {
      const job = await repos.jobs.get(jobId);
      if (!job?.enabled) return;
      const run = await runs.start(job, "cron");
      logger.info({ jobId, runId: run.id }, "cron fired");
    },
    onError: (jobId, error) => logger.error({ err: error, jobId }, "starting a scheduled run failed"),
  });
  const jobs = new Jobs({
    jobs: repos.jobs,
    nodes: repos.nodes,
    providers: repos.providers,
    runs: repos.runs,
    scheduler,
  });
  const accounts = new Accounts({ users: repos.users, tokens: repos.tokens });
  const admin = await accounts.ensureAdmin(env.FABRICORE_ADMIN_PASSWORD);

  const ctx: CoreContext = {
    repos,
    accounts,
    fleet,
    jobs,
    runs,
    mcp,
    hub,
    events,
    queue,
    scheduler,
    metrics,
    llmFor: async (providerId) => {
      const provider = await repos.providers.get(providerId);
      if (!provider) throw new Error(`provider ${providerId} not found`);
      const apiKey = provider.hasApiKey ? await repos.providers.getApiKey(provider.id) : undefined;
      return llmFactory({
        kind: provider.kind,
        baseUrl: provider.baseUrl,
        apiKey: apiKey ?? null,
        options: provider.options,
        name: provider.name,
      });
    },
    tls: Boolean(env.FABRICORE_TLS_CERT),
    version: CORE_VERSION,
    startedAt: new Date(),
  };

  const uiDir = env.FABRICORE_UI_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");
  const app = await buildApp(ctx, {
    logger,
    uiDir,
    https: env.FABRICORE_TLS_CERT
      ? { cert: readFileSync(env.FABRICORE_TLS_CERT), key: readFileSync(env.FABRICORE_TLS_KEY!) }
      : undefined,
  });
  app.server.on("upgrade", (request, socket, head) => {
    if (!hub.handleUpgrade(request, socket, head)) socket.destroy();
  });

  let closed = false;
  return {
    app,
    ctx,
    repos,
    adminPassword: admin.password,
    async listen() {
      const address = await app.listen({ host: env.FABRICORE_HOST, port: env.FABRICORE_PORT });
      queue.start();
      await jobs.scheduleAll();
      return address;
    },
    async close() {
      if (closed) return;
      closed = true;
      await scheduler.stop();
      await queue.stop("the Core is shutting down");
      await hub.close();
      await app.close();
      await database.close();
    },
  };
}
