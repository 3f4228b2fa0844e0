import { resolve } from "node:path";
import {
  type McpLogsResult,
  type McpServerSpec,
  type McpServerStatus,
  ProtocolError,
  type ToolDescriptor,
  type ToolResult,
} from "@fabricore/protocol";
import { containerNodeId, LABELS } from "../runtime/container-labels.ts";
import { createDockerApi, type DockerApi } from "../runtime/docker-api.ts";
import type { McpFactoryOptions, McpProvider, ToolCallContext } from "../tools/tool-provider.ts";

/** Builds the real MCP manager (in the Node: create-mcp-manager.ts, imported when first needed). */
export type McpLoader = (options: McpFactoryOptions) => Promise<McpProvider>;

const loadManager: McpLoader = async (options) => (await import("./create-mcp-manager.ts")).createMcpManager(options);

/**
 * The Node's MCP provider until it has an MCP server to run. The manager and what it brings (the
 * container spec and policy checks, the egress gate, the supervisor's bookkeeping) cost the idle
 * compiled Node ~1 MiB of RSS when built at start (bench/node-binary), and most Nodes run no MCP
 * server. So the manager is loaded on the first non-empty desired set, the first restart or logs
 * request, or when the Core's empty set finds containers this Node left behind (which the manager
 * then removes). Until then the Node does what the manager does for an empty set: it lists its
 * labelled containers and reports no servers and no tools, with the same change notifications.
 */
export class LazyMcp implements McpProvider {
  private manager: McpProvider | undefined;
  private loading: Promise<McpProvider> | undefined;
  private readonly changeListeners = new Set<() => void>();
  private readonly statusListeners = new Set<(servers: McpServerStatus[]) => void>();
  /** syncs run one after another, as the manager's do: each sees what the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly docker: DockerApi;
  private readonly nodeId: string;
  private readonly options: McpFactoryOptions;
  private readonly load: McpLoader;

  constructor(options: McpFactoryOptions, load: McpLoader = loadManager, docker?: DockerApi) {
    this.options = options;
    this.load = load;
    this.docker = docker ?? createDockerApi(options.dockerSocket);
    this.nodeId = containerNodeId(resolve(options.dataDir));
  }

  /** Whether the real manager has been built (tests; the bench's "idle with an MCP server" case). */
  get loaded(): boolean {
    return this.manager !== undefined;
  }

  private ensure(): Promise<McpProvider> {
    // A stopped Node starts nothing: the manager would refuse the same way once closed.
    if (this.closed && !this.loading) {
      return Promise.reject(new ProtocolError("not_allowed", "the MCP manager is closed"));
    }
    this.loading ??= this.load(this.options).then((manager) => {
      // Listeners registered before the manager existed hear its changes from now on.
      manager.onChange(() => {
        for (const listener of this.changeListeners) listener();
      });
      manager.onStatus((servers) => {
        for (const listener of this.statusListeners) listener(servers);
      });
      this.manager = manager;
      return manager;
    });
    return this.loading;
  }

  sync(specs: McpServerSpec[]): Promise<McpServerStatus[]> {
    const run = this.queue.then(() => this.syncNow(specs));
    this.queue = run.catch(() => {});
    return run;
  }

  private async syncNow(specs: McpServerSpec[]): Promise<McpServerStatus[]> {
    if (this.closed && !this.manager) throw new ProtocolError("not_allowed", "the MCP manager is closed");
    if (this.manager || !Array.isArray(specs) || specs.length > 0) return (await this.ensure()).sync(specs);
    if (await this.leftBehind()) return (await this.ensure()).sync(specs);
    // What McpManager's sync([]) does with no servers and nothing to remove: it reports the change.
    for (const listener of this.changeListeners) this.safely(() => listener());
    for (const listener of this.statusListeners) this.safely(() => listener([]));
    return [];
  }

  /** Any container labelled for this Node (a crash or an older Node left it). No Docker: none to remove. */
  private async leftBehind(): Promise<boolean> {
    try {
      const containers = await this.docker.listContainers({ [LABELS.managed]: "true", [LABELS.node]: this.nodeId });
      return containers.length > 0;
    } catch (error) {
      this.options.logger.debug({ err: String(error) }, "cannot list MCP containers");
      return false;
    }
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.options.logger.error({ err: String(error) }, "an MCP change listener threw");
    }
  }

  status(): McpServerStatus[] {
    return this.manager?.status() ?? [];
  }

  list(): ToolDescriptor[] {
    return this.manager?.list() ?? [];
  }

  async call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    return (await this.ensure()).call(name, args, ctx);
  }

  async restartServer(name: string): Promise<McpServerStatus> {
    return (await this.ensure()).restartServer(name);
  }

  async serverLogs(name: string, tail: number): Promise<McpLogsResult> {
    return (await this.ensure()).serverLogs(name, tail);
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onStatus(listener: (servers: McpServerStatus[]) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    // A manager still loading is closed once it is there: nothing it starts may outlive the Node.
    const manager = this.manager ?? (await this.loading?.catch(() => undefined));
    await manager?.close();
  }
}

/** main.ts's McpFactory: the lazy provider around createMcpManager. */
export function createLazyMcp(options: McpFactoryOptions): McpProvider {
  return new LazyMcp(options);
}
