import { ProtocolError, type ToolResult } from "@fabricore/protocol";
import type { ChatMessage, ToolCall } from "../llm/types.ts";
import { mapBounded } from "./concurrency.ts";
import type { FleetTools } from "./fleet-tools.ts";
import { parseToolArguments } from "./tool-arguments.ts";
import { capText, toolResultText } from "./tool-output.ts";
import type { AgentTool, RunAgentOptions, ToolStep } from "./types.ts";

/* The tool calls of one model turn (run-agent.ts is the loop around them): each routed to its Node
 * with a deadline, or answered by the fleet tools, its output capped and recorded as a step. */

const DEFAULT_TOOL_DEADLINE_MS = 120_000;
const DEFAULT_MAX_TOOL_OUTPUT_CHARS = 20_000;
const DEFAULT_TOOL_CONCURRENCY = 4;

/** Runs one turn's calls, a few at a time, recording steps and returning tool messages in call order. */
export async function runToolCalls(
  calls: ToolCall[],
  step: number,
  byModelName: Map<string, AgentTool>,
  options: RunAgentOptions,
  fleet: FleetTools | null,
): Promise<ChatMessage[]> {
  const now = options.now ?? (() => performance.now());
  const maxChars = options.maxToolOutputChars ?? DEFAULT_MAX_TOOL_OUTPUT_CHARS;
  const pending = mapBounded(calls, options.toolConcurrency ?? DEFAULT_TOOL_CONCURRENCY, (call) =>
    executeCall(call, step, byModelName, options, now, fleet),
  );
  const messages: ChatMessage[] = [];
  for (const [i, promise] of pending.entries()) {
    const call = calls[i]!;
    const { step: toolStep, text } = await promise;
    const capped = capText(text, maxChars);
    const shown: ToolResult = capped.truncated
      ? { ...toolStep.result, content: [{ type: "text", text: capped.text }] }
      : toolStep.result;
    await options.steps.step({ ...toolStep, result: shown, ...(capped.truncated ? { truncated: true } : {}) });
    messages.push({
      role: "tool",
      toolCallId: call.id,
      toolName: call.name,
      // OpenAI-style tool messages have no error flag, so the text says it.
      content: toolStep.isError ? `Error: ${capped.text}` : capped.text,
      ...(toolStep.isError ? { isError: true } : {}),
    });
  }
  return messages;
}

async function executeCall(
  call: ToolCall,
  step: number,
  byModelName: Map<string, AgentTool>,
  options: RunAgentOptions,
  now: () => number,
  fleet: FleetTools | null,
): Promise<{ step: ToolStep; text: string }> {
  const callId = `${options.runId}:${step}:${call.id}`;
  const started = now();
  if (fleet) {
    const routed = fleetCall(call, fleet, callId);
    if ("step" in routed) return routed;
    // call_tool: from here on it is a call of the real tool, checked against its own schema.
    return executeTool(routed.call, step, callId, routed.tool, options, now, started);
  }
  return executeTool(call, step, callId, byModelName.get(call.name), options, now, started, byModelName);
}

/** A fleet tool: list_nodes and describe_tool are answered here; call_tool names the real tool. */
function fleetCall(
  call: ToolCall,
  fleet: FleetTools,
  callId: string,
): { step: ToolStep; text: string } | { call: ToolCall; tool: AgentTool } {
  const answer = (text: string, isError: boolean, args: unknown) => ({
    step: {
      type: "tool" as const,
      tool: call.name,
      modelName: call.name,
      node: "",
      nodeId: "",
      source: "fleet",
      callId,
      arguments: args,
      result: { content: [{ type: "text" as const, text }], isError, durationMs: 0 },
      isError,
      durationMs: 0,
    },
    text,
  });
  if (call.parseError)
    return answer(`Your tool request could not be understood: ${call.parseError}.`, true, call.arguments);
  if (!fleet.has(call.name))
    return answer(
      `There is no tool named "${call.name}". Available tools: list_nodes, describe_tool, call_tool.`,
      true,
      call.arguments,
    );
  const parsed = parseToolArguments(call.arguments, fleet.schemaOf(call.name));
  if (!parsed.ok) return answer(parsed.error, true, parsed.raw);
  const outcome = fleet.handle(call.name, parsed.args);
  if (outcome.kind === "answer") return answer(outcome.text, false, parsed.args);
  if (outcome.kind === "refused") return answer(outcome.message, true, parsed.args);
  return { call: { ...call, name: outcome.tool.modelName, arguments: outcome.arguments }, tool: outcome.tool };
}

async function executeTool(
  call: ToolCall,
  step: number,
  callId: string,
  tool: AgentTool | undefined,
  options: RunAgentOptions,
  now: () => number,
  started: number,
  byModelName?: Map<string, AgentTool>,
): Promise<{ step: ToolStep; text: string }> {
  const base = {
    type: "tool" as const,
    tool: tool?.name ?? call.name,
    modelName: call.name,
    node: tool?.nodeName ?? "",
    nodeId: tool?.nodeId ?? "",
    source: tool?.source ?? "",
    callId,
  };
  const refuse = (message: string, args: unknown) => ({
    step: { ...base, arguments: args, result: errorResult(message, 0), isError: true, durationMs: 0 },
    text: message,
  });

  if (call.parseError) return refuse(`Your tool request could not be understood: ${call.parseError}.`, call.arguments);
  if (!tool) {
    const known = [...(byModelName?.keys() ?? [])].join(", ");
    return refuse(`There is no tool named "${call.name}". Available tools: ${known || "none"}.`, call.arguments);
  }
  const parsed = parseToolArguments(call.arguments, tool.inputSchema);
  if (!parsed.ok) return refuse(parsed.error, parsed.raw);

  options.steps.event?.({
    type: "tool_call_started",
    step,
    callId,
    tool: tool.name,
    node: tool.nodeName,
    arguments: parsed.args,
  });
  let result: ToolResult;
  try {
    result = await options.router.call(tool, parsed.args, {
      signal: options.signal,
      deadlineMs: options.toolDeadlineMs ?? DEFAULT_TOOL_DEADLINE_MS,
      callId,
    });
  } catch (err) {
    const message = options.signal.aborted
      ? // The Node's "cancelled" does not say why; the step should (a spent time budget, or a cancel).
        `the call was aborted: ${abortReason(options.signal)}`
      : err instanceof ProtocolError
        ? `${err.code}: ${err.message}`
        : `the tool call failed: ${err instanceof Error ? err.message : String(err)}`;
    return {
      step: {
        ...base,
        arguments: parsed.args,
        result: errorResult(message, elapsed(started, now())),
        isError: true,
        durationMs: elapsed(started, now()),
      },
      text: message,
    };
  }
  return {
    step: { ...base, arguments: parsed.args, result, isError: result.isError, durationMs: elapsed(started, now()) },
    text: toolResultText(result),
  };
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === "TimeoutError")
    return "the run's time budget (budget.maxSeconds) ran out";
  if (typeof reason === "string" && reason) return reason;
  return "the run was cancelled";
}

function errorResult(message: string, durationMs: number): ToolResult {
  return { content: [{ type: "text", text: message }], isError: true, durationMs };
}

const elapsed = (from: number, to: number) => Math.max(0, Math.round(to - from));
