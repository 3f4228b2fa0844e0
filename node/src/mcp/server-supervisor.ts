import {
  type McpLogsResult,
  type McpServerSpec,
  type McpServerStatus,
  ProtocolError,
  type ToolDescriptor,
  type ToolResult,
} from "@fabricore/protocol";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Logger } from "../logger.ts";

type McpServerState = McpServerStatus["state"];

export { DEFAULT_RESTART_POLICY, type RestartPolicy } from "./restart-policy.ts";

import { RuntimeError } from "../runtime/errors.ts";
import type { RestartPolicy } from "./restart-policy.ts";
import { ServerLog } from "./server-log.ts";
import type { McpSession, SessionLauncher } from "./sessions.ts";
import { type CallOptions, callServerTool, listServerTools, type SkippedTool } from "./tool-calls.ts";

export interface SupervisorOptions {
  spec: McpServerSpec;
  /** Identifies the spec: a changed key means "restart with the new spec". */
  key: string;
  launcher: SessionLauncher;
  restart: RestartPolicy;
  /** For `tools/list` requests and the like; tool calls have their own deadline. */
  requestTimeoutMs: number;
  clientVersion: string;
  logger: Logger;
  /** Called on every change of state or tools. */
  onChange: () => void;
  /** The server's log so far (a restart hands the previous supervisor's on); default: a new one. */
  log?: ServerLog | undefined;
  /** Restarts counted so far (a restart asked for by the Core carries the count on). */
  restarts?: number | undefined;
  lastCrash?: { at: string; reason: string } | undefined;
}

/**
 * Keeps one MCP server running: start (or adopt), list its tools, follow `tools/list_changed`,
 * and when the connection drops withdraw its tools at once and restart with exponential backoff,
 * giving up ("failed", with the reason) after repeated failures or on a configuration error
 * that a retry cannot fix (a refused mount, an image that cannot be pulled).
 */
export class ServerSupervisor {
  readonly name: string;
  readonly key: string;
  readonly spec: McpServerSpec;
  private readonly options: SupervisorOptions;
  private state: McpServerState = "starting";
  private error: string | undefined;
  private restarts = 0;
  private failures = 0;
  private lastCrash: { at: string; reason: string } | undefined;
  private tools: ToolDescriptor[] = [];
  /** Tools the server offers that are not offered to the model (task-required), for the status. */
  private skipped: SkippedTool[] = [];
  private session: McpSession | undefined;
  private runningSince = 0;
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  /** stderr of every attempt and the Node's own lines about them (fabricore/mcp/logs). */
  readonly log: ServerLog;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.spec = options.spec;
    this.name = options.spec.name;
    this.key = options.key;
    this.log = options.log ?? new ServerLog();
    this.restarts = options.restarts ?? 0;
    this.lastCrash = options.lastCrash;
  }

  /** The server's recent output: its container's own log from Docker while one runs, else what the
   * Node kept (a container that failed to start is gone; a pass-through server has no output here). */
  async logs(tail: number): Promise<McpLogsResult> {
    const containerId = this.session?.containerId;
    if (containerId && this.options.launcher.containerLogs) {
      try {
        const { lines, truncated } = await this.options.launcher.containerLogs(containerId, tail);
        return { name: this.name, source: "container", containerId, lines, truncated };
      } catch (error) {
        this.log.note(`Docker's log of container ${containerId.slice(0, 12)} could not be read: ${String(error)}`);
      }
    }
    return { name: this.name, source: "node", ...this.log.tail(tail) };
  }

  status(): McpServerStatus {
    const egress = this.options.launcher.egressCounters?.();
    return {
      name: this.name,
      state: this.state,
      ...(this.error !== undefined && { error: this.error }),
      toolCount: this.tools.length,
      ...(this.session?.containerId !== undefined && { containerId: this.session.containerId }),
      restarts: this.restarts,
      ...(this.skipped.length > 0 && { skippedTools: this.skipped }),
      ...(this.lastCrash !== undefined && { lastCrash: this.lastCrash }),
      ...(egress && {
        egress: {
          allowed: egress.allowed,
          refused: egress.refused,
          ...(egress.lastRefused && {
            lastRefused: {
              at: egress.lastRefused.at,
              target: egress.lastRefused.target.slice(0, 512),
              reason: egress.lastRefused.reason.slice(0, 1024),
            },
          }),
        },
      }),
    };
  }

  list(): ToolDescriptor[] {
    return this.tools;
  }

  /** The first attempt; resolves once the server runs, or has failed once (the retries go on in the background). */
  start(): Promise<void> {
    this.attempt = this.run();
    return this.attempt;
  }

  private set(state: McpServerState, error?: string): void {
    this.state = state;
    this.error = error;
    this.options.onChange();
  }

  private makeClient = (): Client => {
    const client = new Client(
      { name: "fabricore-node", version: this.options.clientVersion },
      {
        capabilities: {},
        listChanged: {
          // Our own refresh follows every page of the list; the SDK's autoRefresh reads only the first.
          tools: { autoRefresh: false, debounceMs: 100, onChanged: () => void this.refreshTools(client) },
        },
      },
    );
    // Stray output (a banner on stdout, a dropped SSE stream) is worth a debug line, not a restart.
    client.onerror = (error) =>
      this.options.logger.debug({ server: this.name, err: error.message }, "MCP transport error");
    return client;
  };

  private async run(): Promise<void> {
    if (this.stopped) return;
    let session: McpSession | undefined;
    this.log.note(this.restarts > 0 ? `starting (restart ${this.restarts})` : "starting");
    try {
      session = await this.options.launcher.open(this.makeClient, this.abort.signal, this.log);
      if (this.stopped) {
        await session.close().catch(() => {});
        return;
      }
      const { tools, skipped } = await listServerTools(
        session.client,
        this.name,
        this.options.requestTimeoutMs,
        this.options.logger,
      );
      if (this.stopped) {
        await session.close().catch(() => {});
        return;
      }
      const current = session;
      // The connection may have closed in the same tick the tool list arrived; then this start failed.
      if (!current.client.transport)
        throw new Error(`MCP server ${this.name} closed the connection right after starting`);
      // Set before the state change below, so a crash right after start is not missed.
      current.client.onclose = () => void this.lost(current);
      this.session = current;
      this.tools = tools;
      this.skipped = skipped;
      this.runningSince = Date.now();
      this.log.note(
        `running: ${tools.length} tools${current.containerId ? `, container ${current.containerId.slice(0, 12)}` : ""}`,
      );
      this.options.logger.info(
        { server: this.name, tools: tools.length, containerId: current.containerId },
        "MCP server running",
      );
      this.set("running");
    } catch (error) {
      await session?.close().catch(() => {});
      if (this.stopped) return;
      this.failed(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private async refreshTools(client: Client): Promise<void> {
    if (this.session?.client !== client || this.stopped) return;
    try {
      const { tools, skipped } = await listServerTools(
        client,
        this.name,
        this.options.requestTimeoutMs,
        this.options.logger,
      );
      if (this.session?.client !== client || this.stopped) return;
      this.tools = tools;
      this.skipped = skipped;
      this.options.onChange();
    } catch (error) {
      this.options.logger.warn({ server: this.name, err: String(error) }, "could not refresh the MCP tool list");
    }
  }

  /** The connection dropped (the container died, the URL went away): withdraw the tools now, then restart. */
  private async lost(session: McpSession): Promise<void> {
    if (this.session !== session || this.stopped) return;
    this.session = undefined;
    this.tools = [];
    const ranFor = Date.now() - this.runningSince;
    if (ranFor >= this.options.restart.stableAfterMs) this.failures = 0;
    // Withdraw first (the dispatcher re-announces at once), explain afterwards: inspecting takes a round trip.
    this.set("restarting", "the tool server crashed");
    const reason = await session.describeEnd().catch((error: unknown) => String(error));
    if (this.stopped) return;
    this.options.logger.warn({ server: this.name, reason }, "MCP server stopped; restarting");
    // "Crashed": nothing here asked it to stop (a stop or a spec change sets `stopped` first).
    const crash = `the tool server crashed: ${reason}`;
    this.lastCrash = { at: new Date().toISOString(), reason: crash.slice(0, 4096) };
    this.failed(new Error(`MCP server ${this.name}: ${crash}`));
  }

  private failed(error: Error): void {
    this.failures += 1;
    const permanent = error instanceof RuntimeError && error.permanent;
    if (permanent || this.failures >= this.options.restart.maxFailures) {
      const message = permanent ? error.message : `${error.message} (gave up after ${this.failures} failures in a row)`;
      this.log.note(`failed: ${message}`);
      this.options.logger.error({ server: this.name, err: message }, "MCP server failed");
      this.set("failed", message);
      return;
    }
    const { initialDelayMs, maxDelayMs } = this.options.restart;
    const delay = Math.min(maxDelayMs, initialDelayMs * 2 ** (this.failures - 1));
    this.log.note(`${error.message} (retrying in ${Math.round(delay / 100) / 10} s)`);
    this.set("restarting", `${error.message} (retrying in ${Math.round(delay / 100) / 10} s)`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.restarts += 1;
      this.attempt = this.run();
    }, delay);
  }

  async call(tool: string, args: Record<string, unknown>, options: CallOptions): Promise<ToolResult> {
    const session = this.session;
    if (!session || this.state !== "running") {
      throw new ProtocolError(
        "tool_failed",
        `MCP server ${this.name} is ${this.state}${this.error ? `: ${this.error}` : ""}`,
      );
    }
    if (!this.tools.some((t) => t.name === tool)) {
      throw new ProtocolError("tool_not_found", `MCP server ${this.name} offers no tool ${tool}`);
    }
    try {
      // A crash mid-call is explained like a crash between calls: exit code, OOM kill, stderr.
      return await callServerTool(session.client, this.name, tool, args, options, () => session.describeEnd());
    } catch (error) {
      // A pass-through server that went away is only noticed on use (HTTP has no connection to drop).
      if (
        error instanceof ProtocolError &&
        error.code === "tool_failed" &&
        this.options.launcher.kind === "remote" &&
        this.session === session
      ) {
        void this.lost(session);
      }
      throw error;
    }
  }

  /** Stops supervising; `remove` also deletes the server's containers (a spec removed or changed). */
  async stop(remove: boolean): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort(new Error(`MCP server ${this.name} is being stopped`));
    if (this.timer) clearTimeout(this.timer);
    await this.attempt?.catch(() => {});
    const session = this.session;
    this.session = undefined;
    this.tools = [];
    await session?.close().catch(() => {});
    if (remove) {
      await this.options.launcher.dispose().catch((error: unknown) => {
        this.options.logger.warn({ server: this.name, err: String(error) }, "could not remove the MCP container");
      });
    }
    this.state = "stopped";
    this.error = undefined;
  }
}
