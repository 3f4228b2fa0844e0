import {
  MAX_FRAME_BYTES,
  ProtocolError,
  remainingDeadlineMs,
  type ToolCallParams,
  type ToolDescriptor,
  ToolResult,
} from "@fabricore/protocol";
import { z } from "zod";
import { ProgressCoalescer, type ProgressSink } from "./progress-stream.ts";
import { errorResult } from "./result.ts";
import type { ToolCallContext, ToolProvider } from "./tool-provider.ts";

export interface ToolDispatcherOptions {
  providers?: ToolProvider[];
  /** How long a finished call's outcome is remembered for a retry with the same callId. */
  rememberMs?: number;
  /** At most this many finished calls are remembered (the oldest go first). */
  rememberMax?: number;
  /** Larger results are replaced by an error: they would not fit one WebSocket frame. */
  maxResultBytes?: number;
  now?: () => number;
}

interface Execution {
  name: string;
  source: string;
  promise: Promise<ToolResult>;
  controller: AbortController;
  /** Callers currently waiting; the tool is cancelled only when the last of them gives up. */
  waiters: number;
  settledAt: number | undefined;
}

const key = (source: string, name: string) => `${source}\u0000${name}`;

function toProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError("tool_failed", error instanceof Error ? error.message : String(error));
}

/**
 * Routes `tools/call` to the provider offering `(source, name)`, enforces the deadline, honours
 * cancellation, and remembers recent callIds so that no call ever executes twice: a duplicate that
 * arrives while the call runs joins it, one that arrives later gets the remembered outcome. The Core
 * retries with the same callId after a reconnect, so this is what makes its retries safe.
 */
export class ToolDispatcher {
  private readonly providers: ToolProvider[] = [];
  private readonly executions = new Map<string, Execution>();
  private readonly listeners = new Set<() => void>();
  private index: Map<string, ToolProvider> | undefined;
  private tools: ToolDescriptor[] | undefined;
  private readonly rememberMs: number;
  private readonly rememberMax: number;
  private readonly maxResultBytes: number;
  private readonly now: () => number;

  constructor(options: ToolDispatcherOptions = {}) {
    this.rememberMs = options.rememberMs ?? 10 * 60_000;
    this.rememberMax = options.rememberMax ?? 10_000;
    // Room for the JSON-RPC envelope around the result.
    this.maxResultBytes = options.maxResultBytes ?? MAX_FRAME_BYTES - 64 * 1024;
    this.now = options.now ?? Date.now;
    for (const provider of options.providers ?? []) this.addProvider(provider);
  }

  /** Adds a provider (the MCP manager joins after start-up); listeners hear about its tools. */
  addProvider(provider: ToolProvider): void {
    this.providers.push(provider);
    provider.onChange(() => this.changed());
    this.changed();
  }

  /** Every tool offered, over all providers. */
  list(): ToolDescriptor[] {
    this.tools ??= this.rebuild().tools;
    return this.tools;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls remembered right now (running or finished), for tests and stats. */
  get rememberedCount(): number {
    return this.executions.size;
  }

  /**
   * Runs (or joins, or replays) one call. `signal` cancels: when every waiter has cancelled, the tool
   * is aborted. `detach` only stops waiting: the tool keeps running to its deadline, so that a retry
   * with the same callId (after the Core's connection blipped) joins it instead of losing its work.
   */
  async call(
    params: ToolCallParams,
    signal?: AbortSignal,
    detach?: AbortSignal,
    onOutput?: ToolCallContext["onOutput"],
    onProgress?: ProgressSink,
  ): Promise<ToolResult> {
    this.prune();
    const existing = this.executions.get(params.callId);
    if (existing) {
      if (existing.name !== params.name || existing.source !== params.source) {
        throw new ProtocolError(
          "invalid_params",
          `callId ${params.callId} was already used for ${existing.source}/${existing.name}`,
        );
      }
      return this.wait(existing, signal, detach);
    }
    this.index ??= this.rebuild().index;
    const provider = this.index.get(key(params.source, params.name));
    if (!provider) {
      // Not remembered: nothing ran, and the tool may appear later (an MCP server still starting).
      throw new ProtocolError("tool_not_found", `this Node offers no tool ${params.name} from ${params.source}`);
    }
    const execution = this.start(provider, params, params.streamOutput ? onOutput : undefined, onProgress);
    this.executions.set(params.callId, execution);
    return this.wait(execution, signal, detach);
  }

  /** Aborts every running call (the Node is shutting down, or the Core revoked it). */
  cancelAll(reason: string): void {
    for (const execution of this.executions.values()) {
      if (execution.settledAt === undefined) execution.controller.abort(new ProtocolError("cancelled", reason));
    }
  }

  private start(
    provider: ToolProvider,
    params: ToolCallParams,
    onOutput: ToolCallContext["onOutput"],
    onProgress: ProgressSink | undefined,
  ): Execution {
    const controller = new AbortController();
    const started = this.now();
    let lastProgressAt: number | undefined;
    const progress = onProgress ? new ProgressCoalescer(onProgress) : undefined;
    const execution: Execution = {
      name: params.name,
      source: params.source,
      controller,
      waiters: 0,
      settledAt: undefined,
      promise: Promise.resolve() as unknown as Promise<ToolResult>,
    };
    // Settles as soon as the call is aborted, even if the tool is slow to notice.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener("abort", () => reject(toProtocolError(controller.signal.reason)), {
        once: true,
      });
    });
    // Progress moves the deadline back without re-arming a timer per report: when the timer fires,
    // it looks at the latest progress and waits again for what is left.
    let deadline: ReturnType<typeof setTimeout>;
    const expire = () => {
      const left = remainingDeadlineMs(params, started, lastProgressAt, this.now());
      if (left > 0) {
        deadline = setTimeout(expire, left);
        return;
      }
      const message =
        lastProgressAt === undefined
          ? `${params.name} did not finish within ${params.deadlineMs} ms`
          : this.now() - lastProgressAt >= params.deadlineMs
            ? `${params.name} reported no progress for ${params.deadlineMs} ms`
            : `${params.name} did not finish within ${params.maxDeadlineMs} ms, the most progress may extend it to`;
      controller.abort(new ProtocolError("deadline_exceeded", message));
    };
    deadline = setTimeout(expire, params.deadlineMs);
    execution.promise = (async () => {
      try {
        const raw = await Promise.race([
          provider.call(params.name, params.arguments, {
            signal: controller.signal,
            deadlineMs: params.deadlineMs,
            source: params.source,
            callId: params.callId,
            runId: params.runId,
            ...(params.maxDeadlineMs !== undefined && { maxDeadlineMs: params.maxDeadlineMs }),
            onProgress: (report) => {
              if (execution.settledAt !== undefined || controller.signal.aborted) return;
              if (params.maxDeadlineMs !== undefined) lastProgressAt = this.now();
              progress?.push(report);
            },
            ...(onOutput ? { onOutput } : {}),
          }),
          aborted,
        ]);
        return this.finish(params.name, raw, this.now() - started);
      } catch (error) {
        throw toProtocolError(error);
      } finally {
        clearTimeout(deadline);
        progress?.close();
        execution.settledAt = this.now();
        // Re-insert so the map stays ordered by settle time for pruning.
        if (this.executions.get(params.callId) === execution) {
          this.executions.delete(params.callId);
          this.executions.set(params.callId, execution);
        }
      }
    })();
    // A remembered failure may have nobody awaiting it right now; that is not an unhandled rejection.
    execution.promise.catch(() => {});
    return execution;
  }

  private finish(name: string, raw: unknown, durationMs: number): ToolResult {
    const parsed = ToolResult.safeParse({ ...(raw as object), durationMs });
    if (!parsed.success) {
      throw new ProtocolError("tool_failed", `${name} returned an invalid result: ${z.prettifyError(parsed.error)}`);
    }
    const bytes = Buffer.byteLength(JSON.stringify(parsed.data));
    if (bytes > this.maxResultBytes) {
      return {
        ...errorResult(
          `${name} produced a ${bytes}-byte result, more than the ${this.maxResultBytes} bytes one answer may carry; ` +
            "ask for less (a smaller maxBytes, a narrower command)",
        ),
        durationMs,
      };
    }
    return parsed.data;
  }

  private wait(
    execution: Execution,
    signal: AbortSignal | undefined,
    detach: AbortSignal | undefined,
  ): Promise<ToolResult> {
    if (execution.settledAt !== undefined) return execution.promise;
    execution.waiters += 1;
    // A caller without a signal never gives up, so the count it added is never taken back.
    if (!signal && !detach) return execution.promise;
    return new Promise<ToolResult>((resolve, reject) => {
      let waiting = true;
      const leave = (cancel: boolean, message: string) => {
        if (!waiting) return;
        waiting = false;
        signal?.removeEventListener("abort", onCancel);
        detach?.removeEventListener("abort", onDetach);
        execution.waiters -= 1;
        if (cancel && execution.waiters === 0 && execution.settledAt === undefined) {
          execution.controller.abort(new ProtocolError("cancelled", message));
        }
        reject(new ProtocolError("cancelled", message));
      };
      const onCancel = () => leave(true, "call cancelled");
      const onDetach = () => leave(false, "caller went away");
      if (signal?.aborted) return onCancel();
      if (detach?.aborted) return onDetach();
      signal?.addEventListener("abort", onCancel, { once: true });
      detach?.addEventListener("abort", onDetach, { once: true });
      execution.promise.then(
        (result) => {
          if (!waiting) return;
          waiting = false;
          signal?.removeEventListener("abort", onCancel);
          detach?.removeEventListener("abort", onDetach);
          resolve(result);
        },
        (error: unknown) => {
          if (!waiting) return;
          waiting = false;
          signal?.removeEventListener("abort", onCancel);
          detach?.removeEventListener("abort", onDetach);
          reject(error);
        },
      );
    });
  }

  /** Forgets finished calls past their time or beyond the count limit; running calls are never forgotten. */
  private prune(): void {
    const expiredBefore = this.now() - this.rememberMs;
    for (const [callId, execution] of this.executions) {
      if (execution.settledAt === undefined) continue;
      if (execution.settledAt >= expiredBefore && this.executions.size <= this.rememberMax) break;
      this.executions.delete(callId);
    }
  }

  private changed(): void {
    this.tools = undefined;
    this.index = undefined;
    for (const listener of this.listeners) listener();
  }

  private rebuild(): { tools: ToolDescriptor[]; index: Map<string, ToolProvider> } {
    const index = new Map<string, ToolProvider>();
    const tools: ToolDescriptor[] = [];
    for (const provider of this.providers) {
      for (const tool of provider.list()) {
        const k = key(tool.source, tool.name);
        if (index.has(k)) continue;
        index.set(k, provider);
        tools.push(tool);
      }
    }
    return { tools, index };
  }
}
