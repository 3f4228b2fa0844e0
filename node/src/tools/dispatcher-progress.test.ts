import { ProtocolError, type ToolCallParams, type ToolDescriptor, type ToolResult } from "@fabricore/protocol";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ToolDispatcher } from "./dispatcher.ts";
import type { ToolProgress } from "./progress-stream.ts";
import { textResult } from "./result.ts";
import type { ToolCallContext, ToolProvider } from "./tool-provider.ts";

/** One tool that runs `steps` steps of `stepMs`, reporting progress after each when `report` is set. */
class SteppingProvider implements ToolProvider {
  contexts: ToolCallContext[] = [];
  private readonly steps: number;
  private readonly stepMs: number;
  private readonly report: boolean;
  constructor(steps: number, stepMs: number, report: boolean) {
    this.steps = steps;
    this.stepMs = stepMs;
    this.report = report;
  }
  list(): ToolDescriptor[] {
    return [{ name: "long", description: "", inputSchema: { type: "object" }, source: "mcp:s" }];
  }
  call(_name: string, _args: Record<string, unknown>, ctx: ToolCallContext): Promise<ToolResult> {
    this.contexts.push(ctx);
    return new Promise((resolve, reject) => {
      let step = 0;
      const timer = setInterval(() => {
        step += 1;
        if (this.report) ctx.onProgress?.({ progress: step, total: this.steps, message: `step ${step}` });
        if (step === this.steps) {
          clearInterval(timer);
          resolve(textResult("finished"));
        }
      }, this.stepMs);
      ctx.signal.addEventListener("abort", () => {
        clearInterval(timer);
        reject(ctx.signal.reason);
      });
    });
  }
  onChange() {
    return () => {};
  }
}

const params = (overrides: Partial<ToolCallParams> = {}): ToolCallParams => ({
  name: "long",
  source: "mcp:s",
  arguments: {},
  deadlineMs: 1000,
  callId: "p1",
  ...overrides,
});

async function settle<T>(promise: Promise<T>, ms: number): Promise<T | unknown> {
  const caught = promise.catch((error: unknown) => error);
  await vi.advanceTimersByTimeAsync(ms);
  return caught;
}

describe("ToolDispatcher: progress extends the deadline", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("lets a call that reports progress run past its deadline, and forwards the progress coalesced", async () => {
    // Ten steps of 600 ms: 6 s in all, six times the 1 s deadline, never 1 s without progress.
    const provider = new SteppingProvider(10, 600, true);
    const dispatcher = new ToolDispatcher({ providers: [provider] });
    const sent: ToolProgress[] = [];
    const outcome = await settle(
      dispatcher.call(params({ maxDeadlineMs: 60_000 }), undefined, undefined, undefined, (p) => sent.push(p)),
      7000,
    );
    expect((outcome as ToolResult).content).toEqual([{ type: "text", text: "finished" }]);
    expect(sent.map((p) => p.progress)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(sent[2]).toEqual({ progress: 3, total: 10, message: "step 3" });
    expect(provider.contexts[0]?.maxDeadlineMs).toBe(60_000);
  });

  it("still times out a call that stalls: no progress within the deadline", async () => {
    const provider = new SteppingProvider(1, 5000, true);
    const dispatcher = new ToolDispatcher({ providers: [provider] });
    const error = await settle(dispatcher.call(params({ maxDeadlineMs: 60_000 })), 1500);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("deadline_exceeded");
    expect((error as ProtocolError).message).toMatch(/did not finish within 1000 ms/);
    expect(provider.contexts[0]?.signal.aborted).toBe(true);
  });

  it("times out a call whose progress stops, counted from its latest report", async () => {
    // Progress at 600 ms, then a 5 s step: it ends at 1600 ms (600 + the 1 s deadline).
    const provider = new (class extends SteppingProvider {
      override call(name: string, args: Record<string, unknown>, ctx: ToolCallContext) {
        setTimeout(() => ctx.onProgress?.({ progress: 1 }), 600);
        return super.call(name, args, ctx);
      }
    })(1, 5000, false);
    const dispatcher = new ToolDispatcher({ providers: [provider] });
    const pending = dispatcher.call(params({ maxDeadlineMs: 60_000 })).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1500);
    expect(provider.contexts[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(200);
    const error = (await pending) as ProtocolError;
    expect(error.code).toBe("deadline_exceeded");
    expect(error.message).toMatch(/no progress for 1000 ms/);
  });

  it("never runs past maxDeadlineMs, however much progress it reports", async () => {
    const provider = new SteppingProvider(100, 200, true);
    const dispatcher = new ToolDispatcher({ providers: [provider] });
    const error = (await settle(dispatcher.call(params({ maxDeadlineMs: 3000 })), 3500)) as ProtocolError;
    expect(error.code).toBe("deadline_exceeded");
    expect(error.message).toMatch(/within 3000 ms/);
  });

  it("does not extend the deadline of a call from a Core that set no maximum", async () => {
    const provider = new SteppingProvider(10, 300, true);
    const dispatcher = new ToolDispatcher({ providers: [provider] });
    const error = (await settle(dispatcher.call(params()), 1500)) as ProtocolError;
    expect(error.code).toBe("deadline_exceeded");
  });
});
