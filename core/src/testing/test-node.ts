import {
  BuiltinTools,
  ConnectionManager,
  type ConnectionManagerOptions,
  silentLogger,
  type ToolCallContext,
  ToolDispatcher,
  type ToolProvider,
  textResult,
} from "@fabricore/node";
import type { HelloParams, ToolDescriptor, ToolResult, Transport } from "@fabricore/protocol";
import type { z } from "zod";

/* Shared by the hub's in-memory and socket tests: the real Node side (connection manager, dispatcher,
 * built-in tools) plus one controllable provider. */

/** A minimal, valid hello from a Node with no tools, for tests that speak the protocol by hand. */
export function helloParams(over: Partial<z.input<typeof HelloParams>> = {}): z.input<typeof HelloParams> {
  return {
    protocolVersion: 1,
    nodeVersion: "x",
    hostname: "h",
    os: "linux",
    arch: "x64",
    capabilities: { exec: false, docker: false, readRoots: [] },
    tools: [],
    ...over,
  };
}

export async function waitFor(predicate: () => boolean, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Tools under `mcp:test`: `hang` waits until aborted, `echo` returns its arguments; counts executions. */
export class TestProvider implements ToolProvider {
  executions = 0;
  aborted = 0;
  private readonly listeners = new Set<() => void>();
  tools: ToolDescriptor[] = [
    { name: "hang", description: "waits until cancelled", inputSchema: { type: "object" }, source: "mcp:test" },
    { name: "echo", description: "returns its arguments", inputSchema: { type: "object" }, source: "mcp:test" },
  ];
  list(): ToolDescriptor[] {
    return this.tools;
  }
  call(name: string, args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    this.executions += 1;
    if (name === "echo") return Promise.resolve(textResult(JSON.stringify(args), { args, execution: this.executions }));
    return new Promise((_, reject) => {
      ctx.signal.addEventListener("abort", () => {
        this.aborted += 1;
        reject(ctx.signal.reason);
      });
    });
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  setTools(tools: ToolDescriptor[]): void {
    this.tools = tools;
    for (const listener of this.listeners) listener();
  }
}

export interface TestNode {
  manager: ConnectionManager;
  dispatcher: ToolDispatcher;
  provider: TestProvider;
}

export function createTestNode(
  connect: (signal: AbortSignal) => Promise<Transport>,
  options: Partial<ConnectionManagerOptions> & { readRoots?: string[] } = {},
): TestNode {
  const provider = new TestProvider();
  const dispatcher = new ToolDispatcher({
    providers: [new BuiltinTools({ readRoots: options.readRoots ?? [], allowExec: true }), provider],
  });
  const manager = new ConnectionManager({
    connect,
    identity: {
      nodeVersion: "0.0.0-test",
      hostname: "test-host",
      os: process.platform,
      arch: process.arch,
      capabilities: { exec: true, docker: false, readRoots: options.readRoots ?? [] },
    },
    tools: dispatcher,
    logger: silentLogger,
    backoff: { baseMs: 20, capMs: 200, stableAfterMs: 100 },
    toolsChangedDebounceMs: 5,
    ...options,
  });
  return { manager, dispatcher, provider };
}
