import { join, resolve } from "node:path";
import { type Logger, silentLogger } from "../logger.ts";
import { containerNodeId } from "../runtime/container-labels.ts";
import { createDockerApi, type DockerApi } from "../runtime/docker-api.ts";
import { createLookup, EgressGate } from "../runtime/egress/egress-gate.ts";
import type { Lookup } from "../runtime/egress/egress-policy.ts";
import type { McpPolicy } from "../runtime/node-policy.ts";
import { McpManager } from "./mcp-manager.ts";
import type { RestartPolicy } from "./restart-policy.ts";

/** What `createMcpManager` accepts: every field of the Node program's `McpFactoryOptions` and more. */
export interface CreateMcpManagerOptions {
  /** A DockerApi, or where the daemon listens (socket path, `unix://…`, `tcp://…`). Default /var/run/docker.sock. */
  docker?: DockerApi | string | undefined;
  /** Same as a string `docker`; the name node/src/tools/tool-provider.ts's McpFactoryOptions uses. */
  dockerSocket?: string | undefined;
  /** Labels this Node's containers; default: derived from `dataDir`, which is one per Node installation. */
  nodeId?: string | undefined;
  /** The Node's data directory (its token): never mounted into a container. */
  dataDir?: string | undefined;
  forbiddenPaths?: readonly string[] | undefined;
  /** The Node's own limits on images and mounts; unset: only the built-in mount policy applies. */
  policy?: McpPolicy | undefined;
  /** `--egress-dns HOST:PORT`: the DNS server egress proxies resolve with; unset: the host's resolver. */
  egressDns?: string | undefined;
  /** Overrides how egress proxies resolve names (tests: names that exist only in the test). */
  egressLookup?: Lookup | undefined;
  /** Overrides how egress forwarders are started (tests under Node.js). */
  egressForwarder?: string[] | undefined;
  /** Allow pass-through URLs off this host; by default only loopback URLs are dialled. */
  allowRemoteMcp?: boolean | undefined;
  logger?: Logger | undefined;
  restart?: Partial<RestartPolicy> | undefined;
  connectTimeoutMs?: number | undefined;
  syncWaitMs?: number | undefined;
  clientVersion?: string | undefined;
}

/**
 * The socket file of a Docker endpoint (`/path`, `unix:///path`), or undefined for a TCP one. Never
 * mounted, like the default sockets protocol's mount policy knows: a rootless daemon's socket lives
 * in its user's runtime directory (`/run/user/1000/docker.sock`), which no built-in rule covers.
 */
export function dockerSocketPath(endpoint: string): string | undefined {
  if (/^(tcp|https?):\/\//.test(endpoint)) return undefined;
  return resolve(endpoint.startsWith("unix://") ? endpoint.slice("unix://".length) : endpoint);
}

/**
 * The factory the Node's main.ts wires (it fits main.ts's `McpFactory`). Accepts both the shape
 * main.ts passes today (`{dockerSocket, dataDir, logger}`) and an explicit `{docker, nodeId, …}`.
 */
export function createMcpManager(options: CreateMcpManagerOptions): McpManager {
  const docker =
    typeof options.docker === "object"
      ? options.docker
      : createDockerApi(options.docker ?? options.dockerSocket ?? "/var/run/docker.sock");
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
  const endpoint = typeof options.docker === "string" ? options.docker : options.dockerSocket;
  const socket = endpoint === undefined ? undefined : dockerSocketPath(endpoint);
  const nodeId = options.nodeId ?? (dataDir ? containerNodeId(dataDir) : undefined);
  if (!nodeId) throw new Error("createMcpManager needs a nodeId or the Node's dataDir to label its containers");
  return new McpManager({
    docker,
    nodeId,
    forbiddenPaths: [...(options.forbiddenPaths ?? []), ...(dataDir ? [dataDir] : []), ...(socket ? [socket] : [])],
    policy: options.policy,
    allowRemoteMcp: options.allowRemoteMcp === true,
    // Sockets below the data dir, which no container may mount; without a data dir, no egress.
    egress: dataDir
      ? new EgressGate({
          dir: join(dataDir, "egress"),
          lookup: options.egressLookup ?? createLookup(options.egressDns),
          logger: options.logger ?? silentLogger,
          forwarderCommand: options.egressForwarder,
        })
      : undefined,
    logger: options.logger ?? silentLogger,
    restart: options.restart,
    connectTimeoutMs: options.connectTimeoutMs,
    syncWaitMs: options.syncWaitMs,
    clientVersion: options.clientVersion,
  });
}
