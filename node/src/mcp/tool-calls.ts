import { mcpSource, ProtocolError, ToolDescriptor, type ToolResult } from "@fabricore/protocol";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError, ErrorCode as McpErrorCode } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../logger.ts";
import { transportErrorText } from "./remote.ts";

/** A server offering more tools than this is misbehaving; paging stops there. */
const MAX_TOOLS_PER_SERVER = 1000;

/** At most this many skipped tools are named in a server's status. */
const MAX_SKIPPED_LISTED = 64;

/** A tool the server offers that the model is not offered, and why (for the server's status). */
export interface SkippedTool {
  name: string;
  reason: string;
}

/**
 * Why FabriCore cannot call `tool`, or undefined when it can. A tool declaring
 * `execution.taskSupport: "required"` (MCP 2025-11-25) must be called as a task (`tools/call` with
 * `task`, then `tasks/result`); this Node calls tools directly, so every call would fail — the
 * model is better off not seeing it. "optional" tools still answer a direct call.
 */
export function unsupportedReason(tool: { execution?: { taskSupport?: string | undefined } | undefined }) {
  if (tool.execution?.taskSupport === "required") {
    return "it requires MCP task-based execution (execution.taskSupport: required), which this Node does not support";
  }
  return undefined;
}

/**
 * Every tool a server offers (following `nextCursor` pages), as FabriCore descriptors with
 * `source: "mcp:<server>"`. A tool whose name or schema FabriCore cannot carry is left out with a
 * warning rather than failing the whole server; one FabriCore cannot call (task-required) is left
 * out and named in `skipped`, for the server's status.
 */
export async function listServerTools(
  client: Client,
  server: string,
  timeoutMs: number,
  logger: Logger,
): Promise<{ tools: ToolDescriptor[]; skipped: SkippedTool[] }> {
  const tools: ToolDescriptor[] = [];
  const skipped: SkippedTool[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor ? { cursor } : undefined, { timeout: timeoutMs });
    for (const tool of page.tools) {
      const reason = unsupportedReason(tool);
      if (reason) {
        logger.warn({ server, tool: tool.name }, `MCP tool not offered to the model: ${reason}`);
        if (skipped.length < MAX_SKIPPED_LISTED) skipped.push({ name: tool.name.slice(0, 256), reason });
        continue;
      }
      const parsed = ToolDescriptor.safeParse({
        name: tool.name,
        description: tool.description ?? "",
        inputSchema: tool.inputSchema,
        source: mcpSource(server),
      });
      if (parsed.success) tools.push(parsed.data);
      else
        logger.warn(
          { server, tool: tool.name, issues: parsed.error.issues.length },
          "MCP tool left out: not a valid descriptor",
        );
    }
    cursor = page.nextCursor;
  } while (cursor && tools.length < MAX_TOOLS_PER_SERVER);
  return { tools, skipped };
}

export interface CallOptions {
  signal: AbortSignal;
  deadlineMs: number;
  /** Set: each progress report restarts `deadlineMs`, up to this from the start. */
  maxDeadlineMs?: number | undefined;
  onProgress?:
    | ((progress: { progress: number; total?: number | undefined; message?: string | undefined }) => void)
    | undefined;
}

/**
 * Calls one MCP tool and passes its CallToolResult through as a protocol ToolResult (plus
 * durationMs). The deadline becomes the SDK request timeout and the signal the SDK's own
 * cancellation, so the server receives `notifications/cancelled` either way. Every call carries a
 * progress token (the SDK's `onprogress`): a server that reports progress has it forwarded, and,
 * with `maxDeadlineMs`, each report restarts the SDK's timeout up to that total.
 *
 * Failure mapping: the server's own JSON-RPC error (unknown tool, invalid arguments) is an error
 * *result* — the model can read it and correct the call; a timeout, a cancellation or a server that
 * went away mid-call are ProtocolErrors, because they are about the infrastructure, not the call.
 */
export async function callServerTool(
  client: Client,
  server: string,
  tool: string,
  args: Record<string, unknown>,
  options: CallOptions,
  describeFailure: () => Promise<string>,
): Promise<ToolResult> {
  const started = performance.now();
  try {
    const extend = options.maxDeadlineMs !== undefined;
    const result = await client.callTool({ name: tool, arguments: args }, undefined, {
      signal: options.signal,
      timeout: options.deadlineMs,
      resetTimeoutOnProgress: extend,
      maxTotalTimeout: extend ? Math.max(options.deadlineMs, options.maxDeadlineMs ?? 0) : options.deadlineMs,
      onprogress: (progress) => {
        options.onProgress?.({
          progress: progress.progress,
          ...(progress.total !== undefined && { total: progress.total }),
          ...(typeof progress.message === "string" && { message: progress.message }),
        });
      },
    });
    const durationMs = Math.round(performance.now() - started);
    if ("content" in result && Array.isArray(result.content)) {
      return {
        content: result.content as ToolResult["content"],
        ...(result.structuredContent !== undefined && {
          structuredContent: result.structuredContent as Record<string, unknown>,
        }),
        isError: result.isError === true,
        durationMs,
      };
    }
    // Servers on the 2024-10-07 protocol answer `{toolResult}`; give the model its JSON.
    const legacy = (result as { toolResult?: unknown }).toolResult;
    return { content: [{ type: "text", text: JSON.stringify(legacy ?? result) }], isError: false, durationMs };
  } catch (error) {
    if (options.signal.aborted) {
      const reason: unknown = options.signal.reason;
      if (reason instanceof ProtocolError) throw reason;
      if (reason instanceof Error && reason.name === "TimeoutError") {
        throw new ProtocolError(
          "deadline_exceeded",
          `${server}/${tool} did not finish within ${options.deadlineMs} ms`,
        );
      }
      throw new ProtocolError("cancelled", `${server}/${tool} was cancelled`);
    }
    if (error instanceof McpError) {
      if (error.code === McpErrorCode.RequestTimeout) {
        throw new ProtocolError(
          "deadline_exceeded",
          `${server}/${tool} did not finish within ${options.deadlineMs} ms`,
        );
      }
      if (error.code === McpErrorCode.ConnectionClosed) {
        const why = await describeFailure().catch((failure: unknown) => String(failure));
        throw new ProtocolError("tool_failed", `the tool server crashed during the call: MCP server ${server}: ${why}`);
      }
      return {
        content: [{ type: "text", text: `MCP server ${server} refused ${tool}: ${error.message}` }],
        isError: true,
        durationMs: Math.round(performance.now() - started),
      };
    }
    throw new ProtocolError("tool_failed", `MCP server ${server} failed on ${tool}: ${transportErrorText(error)}`);
  }
}
