import { ProtocolError, type ToolCallParams, type ToolDescriptor, type ToolResult } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { BuiltinTools } from "./builtin-tools.ts";
import { ToolDispatcher } from "./dispatcher.ts";
import { textResult } from "./result.ts";
import type { ToolCallContext, ToolProvider } from "./tool-provider.ts";

/** A provider whose one tool waits until released or aborted, counting executions. */
class FakeProvider implements ToolProvider {
  executions = 0;
  lastSignal: AbortSignal | undefined;
  private listeners = new Set<() => void>();
  private releases: Array<() => void> = [];
  tools: ToolDescriptor[];
  constructor(source = "mcp:fake") {
    this.tools = [{ name: "wait", description: "", inputSchema: { type: "object" }, source }];
  }
  list() {
    return this.tools;
  }
  call(_name: string, _args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    this.executions += 1;
    this.lastSignal = ctx.signal;
    return new Promise((resolve, reject) => {
      this.releases.push(() => resolve(textResult(`done ${this.executions}`)));
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
    });
  }
  release() {
    for (const release of this.releases.splice(0)) release();
  }
  onChange(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  change(tools: ToolDescriptor[]) {
    this.tools = tools;
    for (const listener of this.listeners) listener();
  }
}

const call = (overrides: Partial<ToolCallParams> = {}): ToolCallParams => ({
  name: "wait",
  source: "mcp:fake",
  arguments: {},
  deadlineMs: 10_000,
  callId: "c1",
  ...overrides,
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe("ToolDispatcher", () => {
  it("lists the union of its providers and routes by source", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({
      providers: [new BuiltinTools({ readRoots: [], allowExec: false }), fake],
    });
    expect(dispatcher.list().map((t) => `${t.source}/${t.name}`)).toEqual([
      "builtin/read_file",
      "builtin/system_stats",
      "mcp:fake/wait",
    ]);
    const result = await dispatcher.call(call({ name: "system_stats", source: "builtin", callId: "s" }));
    expect(result.isError).toBe(false);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("refuses a tool it does not offer with tool_not_found (exec_command without --allow-exec too)", async () => {
    const dispatcher = new ToolDispatcher({ providers: [new BuiltinTools({ readRoots: [], allowExec: false })] });
    for (const params of [
      call({ name: "nope", source: "builtin" }),
      call({ name: "exec_command", source: "builtin", callId: "e" }),
      call({ name: "read_file", source: "mcp:other", callId: "r" }),
    ]) {
      const error = await dispatcher.call(params).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe("tool_not_found");
    }
  });

  it("never hands a provider a call for a tool it did not announce (a Core cannot invent tools)", async () => {
    const called: string[] = [];
    const permissive = {
      list: () => [{ name: "announced", description: "", inputSchema: { type: "object" as const }, source: "mcp:p" }],
      call: async (name: string) => {
        called.push(name);
        return { content: [{ type: "text" as const, text: "ran" }], isError: false, durationMs: 0 };
      },
      onChange: () => () => {},
    };
    const dispatcher = new ToolDispatcher({ providers: [permissive] });
    const error = await dispatcher
      .call(call({ name: "hidden", source: "mcp:p", callId: "h" }))
      .catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("tool_not_found");
    expect(called).toEqual([]);
    await dispatcher.call(call({ name: "announced", source: "mcp:p", callId: "a" }));
    expect(called).toEqual(["announced"]);
  });

  it("runs a duplicate callId once: joins while running, replays after", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake] });
    const first = dispatcher.call(call());
    const second = dispatcher.call(call());
    await tick();
    fake.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual(b);
    const third = await dispatcher.call(call());
    expect(third).toEqual(a);
    expect(fake.executions).toBe(1);
  });

  it("aborts the tool at the deadline with deadline_exceeded, and remembers that", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake] });
    const error = await dispatcher.call(call({ deadlineMs: 50 })).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("deadline_exceeded");
    expect(fake.lastSignal?.aborted).toBe(true);
    const again = await dispatcher.call(call({ deadlineMs: 50 })).catch((e: unknown) => e);
    expect((again as ProtocolError).code).toBe("deadline_exceeded");
    expect(fake.executions).toBe(1);
  });

  it("cancels the tool only when every waiter has given up", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake] });
    const one = new AbortController();
    const two = new AbortController();
    const first = dispatcher.call(call(), one.signal).catch((e: unknown) => e);
    const second = dispatcher.call(call(), two.signal).catch((e: unknown) => e);
    await tick();
    one.abort();
    expect(((await first) as ProtocolError).code).toBe("cancelled");
    expect(fake.lastSignal?.aborted).toBe(false);
    two.abort();
    expect(((await second) as ProtocolError).code).toBe("cancelled");
    expect(fake.lastSignal?.aborted).toBe(true);
  });

  it("a detached waiter stops waiting but leaves the tool running for a retry to join", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake] });
    const gone = new AbortController();
    const first = dispatcher.call(call(), undefined, gone.signal).catch((e: unknown) => e);
    await tick();
    gone.abort();
    expect(((await first) as ProtocolError).code).toBe("cancelled");
    expect(fake.lastSignal?.aborted).toBe(false);
    const retry = dispatcher.call(call(), new AbortController().signal);
    fake.release();
    expect((await retry).isError).toBe(false);
    expect(fake.executions).toBe(1);
  });

  it("cancelAll aborts every running call", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake] });
    const pending = dispatcher.call(call()).catch((e: unknown) => e);
    await tick();
    dispatcher.cancelAll("shutting down");
    expect(((await pending) as ProtocolError).code).toBe("cancelled");
    expect(fake.lastSignal?.aborted).toBe(true);
  });

  it("rejects a callId reused for another tool", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake, new BuiltinTools({ readRoots: [], allowExec: false })] });
    void dispatcher.call(call()).catch(() => {});
    const error = await dispatcher.call(call({ name: "system_stats", source: "builtin" })).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("invalid_params");
    fake.release();
  });

  it("forgets finished calls after rememberMs and beyond rememberMax", async () => {
    let now = 0;
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake], rememberMs: 1_000, rememberMax: 2, now: () => now });
    for (const id of ["a", "b", "c"]) {
      const pending = dispatcher.call(call({ callId: id }));
      await tick();
      fake.release();
      await pending;
    }
    const rerun = dispatcher.call(call({ callId: "a" }));
    await tick();
    fake.release();
    await rerun;
    // "a" was forgotten (count limit) so it ran again; "c" is still remembered.
    expect(fake.executions).toBe(4);
    await dispatcher.call(call({ callId: "c" }));
    expect(fake.executions).toBe(4);
    now = 5_000;
    const pending = dispatcher.call(call({ callId: "b" }));
    await tick();
    fake.release();
    await pending;
    expect(fake.executions).toBe(5);
    expect(dispatcher.rememberedCount).toBeLessThanOrEqual(2);
  });

  it("reports tool changes and turns an oversized or thrown result into errors", async () => {
    const fake = new FakeProvider();
    const dispatcher = new ToolDispatcher({ providers: [fake], maxResultBytes: 100 });
    let changes = 0;
    dispatcher.onChange(() => {
      changes += 1;
    });
    fake.change([{ name: "big", description: "", inputSchema: { type: "object" }, source: "mcp:fake" }]);
    expect(changes).toBe(1);
    expect(dispatcher.list().map((t) => t.name)).toEqual(["big"]);
    fake.call = async () => textResult("x".repeat(1000));
    const big = await dispatcher.call(call({ name: "big", callId: "big" }));
    expect(big.isError).toBe(true);
    fake.call = async () => {
      throw new Error("boom");
    };
    const error = await dispatcher.call(call({ name: "big", callId: "boom" })).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("tool_failed");
  });
});
