import { join, resolve } from "node:path";
import type { Logger as PinoLogger } from "pino";
import { parseTrustProxy, trustProxyPredicate } from "./app.ts";
import type { Cluster } from "./cluster/cluster.ts";
import { REPO_ROOT } from "./core-version.ts";
import type { Repositories } from "./database/index.ts";
import type { CoreEnv } from "./env.ts";
import type { Metrics } from "./metrics.ts";
import { instrumentToolCalls } from "./nodes/instrumented-node-access.ts";
import type { NodeAccess } from "./nodes/node-access.ts";
import { deriveChallengeKey } from "./nodes/node-auth.ts";
import { NodeBinaries } from "./nodes/node-binaries.ts";
import { NodeBuildWatch } from "./nodes/node-build-watch.ts";
import { NodeHub } from "./nodes/node-hub.ts";
import { NodeIdentityService } from "./nodes/node-identity-service.ts";
import { NodeStatsRecorder } from "./nodes/node-stats-recorder.ts";
import type { ReleaseKey } from "./nodes/release-key.ts";
import type { SecretRedactor } from "./secrets/redactor.ts";
import type { Audit } from "./services/audit.ts";
import { Fleet } from "./services/fleet.ts";
import { mcpPresetCatalog } from "./services/mcp-presets.ts";
import { McpServers } from "./services/mcp-servers.ts";
import { pushRebuiltBuild } from "./services/node-build-push.ts";
import { NodeRollouts } from "./services/node-rollout.ts";

export interface CoreNodesOptions {
  env: CoreEnv;
  repos: Repositories;
  cluster: Cluster | undefined;
  /** The Node version of a build without a mark (FABRICORE_NODE_VERSION, else node/package.json's):
   * the served version is the builds' own (nodes/node-build-watch.ts). */
  nodeVersion: string;
  releaseKey: ReleaseKey;
  masterKey: Buffer;
  metrics: Metrics;
  audit: Audit;
  redactor: SecretRedactor;
  logger: PinoLogger;
  /** A Node said hello here: the runs waiting for it are due (wired to the queue by core.ts). */
  onNodeOnline: (nodeId: string) => void;
}

/** This process's NodeHub and the services around the fleet: identity, rollouts, MCP servers, stats. */
export function wireNodes(options: CoreNodesOptions) {
  const { env, repos, cluster, metrics, logger, nodeVersion, releaseKey } = options;
  // The hub's callbacks reach services made after it (they need the hub); none is called before
  // a Node connects, which is after createCore returns.
  let identity: NodeIdentityService;
  let mcp: McpServers;
  let rollouts: NodeRollouts;
  // The builds this Core serves, and the version they carry, followed while it runs: a rebuild is
  // offered to the --auto-update Nodes connected here (services/node-build-push.ts).
  const binaries = new NodeBinaries(resolve(env.FABRICORE_NODE_BINARY_DIR ?? join(REPO_ROOT, "dist")), {
    gzipDir: join(env.dataDir, "cache", "node-binaries"),
  });
  const builds = new NodeBuildWatch({
    binaries,
    configuredVersion: nodeVersion,
    logger: logger.child({ room: "node-builds" }),
    onRebuilt: (build) =>
      pushRebuiltBuild(
        {
          policy: env.FABRICORE_NODE_UPDATE_POLICY,
          // This replica's own Nodes: each replica watches its own files and offers its own Nodes.
          connected: () =>
            hub.onlineNodeIds().flatMap((nodeId) => {
              const live = hub.get(nodeId);
              return live ? [{ nodeId, name: live.name, version: live.hello.nodeVersion }] : [];
            }),
          rolloutActive: () => rollouts.active,
          offer: (nodeId, version) => hub.offerUpdate(nodeId, version),
          logger: logger.child({ room: "node-builds" }),
        },
        build.version,
      ),
  });
  const servedVersion = () => builds.version;
  // Heartbeat stats over time for the Node page's sparklines (issue 22.5).
  const statsRecorder = new NodeStatsRecorder({
    repo: repos.nodeStats,
    onError: (error, nodeId) => logger.warn({ err: error, nodeId }, "recording a node's stats history failed"),
  });
  const hub: NodeHub = new NodeHub({
    authenticate: (credentials) => identity.authenticate(credentials),
    desiredMcpServers: (nodeId) => mcp.desiredFor(nodeId),
    heartbeatIntervalMs: env.FABRICORE_HEARTBEAT_SECONDS * 1000,
    maxToolListBytes: env.FABRICORE_NODE_TOOLS_MAX_BYTES,
    servedNodeVersion: servedVersion,
    updateKey: releaseKey.publicKey,
    offersNodeVersion: (nodeId) => rollouts.offersVersion(nodeId),
    onUpdateResult: (nodeId, result) => void rollouts.nodeReported(nodeId, result),
    trustProxy: trustProxyPredicate(parseTrustProxy(env.FABRICORE_TRUST_PROXY)),
    logger: logger.child({ room: "hub" }),
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
      options.onNodeOnline(nodeId);
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
  const fleet = new Fleet({
    nodes: repos.nodes,
    hub: nodes,
    servedNodeVersion: servedVersion,
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
    servedVersion,
    policy: env.FABRICORE_NODE_UPDATE_POLICY,
    audit: (action, target, detail, outcome) =>
      void options.audit.record({ actor: "core", action, target, detail, outcome }),
    logger: logger.child({ room: "rollout" }),
  });
  // Nodes prove themselves with their own keys; challenge nonces are MACed with a key derived from
  // the master key so that every replica of a cluster accepts the nonces of the others.
  identity = new NodeIdentityService({
    nodes: repos.nodes,
    hub: nodes,
    challengeKey: deriveChallengeKey(options.masterKey),
  });
  mcp = new McpServers({
    repo: repos.mcpServers,
    secrets: repos.secrets,
    hub: nodes,
    fleet,
    presets: mcpPresetCatalog,
    redactor: options.redactor,
  });
  return { hub, nodes, statsRecorder, fleet, rollouts, identity, mcp, binaries, builds };
}
