import { mcpServerOf, ProtocolError, type ToolResult } from "@fabricore/protocol";
import { normaliseToolCalls } from "../llm/tool-calls.ts";
import type { ChatMessage, ModelInfo, TokenUsage, ToolCall, ToolSpec } from "../llm/types.ts";
import { mapBounded } from "./concurrency.ts";
import { fitToContext } from "./context-budget.ts";
import { FleetTools } from "./fleet-tools.ts";
import { callWithFallback } from "./model-fallback.ts";
import { finalAnswer, type LoopState, maxSteps, maxTokens, totalTokens } from "./stop-conditions.ts";
import { timeLimit } from "./time-limit.ts";
import { parseToolArguments } from "./tool-arguments.ts";
import { capText, toolResultText } from "./tool-output.ts";
import type { AgentTool, RunAgentOptions, RunAgentResult, ToolStep } from "./types.ts";

const DEFAULT_TOOL_DEADLINE_MS = 120_000;
const DEFAULT_MAX_TOOL_OUTPUT_CHARS = 20_000;
const DEFAULT_TOOL_CONCURRENCY = 4;

/**
 * A run: ask the model, offering the tools; run the tool calls it makes on their Nodes; hand the
 * results back; repeat until the model answers without calling a tool or the step budget is spent.
 * Never throws: every outcome, including a broken collaborator, is a result.
 */
export async function runAgent(runOptions: RunAgentOptions): Promise<RunAgentResult> {
  const limit = runOptions.maxSeconds !== undefined ? timeLimit(runOptions.maxSeconds * 1000) : undefined;
  try {
    return await runLoop(runOptions, limit?.signal);
  } finally {
    limit?.clear();
  }
}

async function runLoop(runOptions: RunAgentOptions, budget: AbortSignal | undefined): Promise<RunAgentResult> {
  // The time budget is one more reason to abort: the model request and tool calls in flight get
  // the combined signal, and `budget.aborted` tells a spent budget from a cancel.
  const options: RunAgentOptions = budget
    ? { ...runOptions, signal: AbortSignal.any([runOptions.signal, budget]) }
    : runOptions;
  const now = options.now ?? (() => performance.now());
  const usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
  const byModelName = new Map(options.tools.map((t) => [t.modelName, t]));
  const multiNode = new Set(options.tools.map((t) => t.nodeId)).size > 1;
  // A run over many Nodes is offered three constant fleet tools instead of the flat list.
  const fleet = FleetTools.when(options.tools, options.fleet);
  const toolSpecs: ToolSpec[] = fleet
    ? fleet.specs
    : options.tools.map((t) => ({
        name: t.modelName,
        description: multiNode ? describeWhere(t) : t.description,
        inputSchema: t.inputSchema as Record<string, unknown>,
      }));
  const messages: ChatMessage[] = [];
  if (options.system) messages.push({ role: "system", content: options.system });
  messages.push({ role: "user", content: userMessage(options.prompt, options.input) });

  const state: LoopState = { turns: 0, lastResponse: undefined, usage };
  const prepared = new Map<number, ModelInfo | undefined>();
  const warned = new Set<string>();
  const budgetSpent = maxSteps(options.maxSteps);
  const tokensSpent = options.maxTokens !== undefined ? maxTokens(options.maxTokens) : () => false;
  let modelIndex = 0;
  let corrections = 0;
  let lastText: string | null = null;
  const cancelled = (): RunAgentResult =>
    budget?.aborted && !runOptions.signal.aborted
      ? {
          status: "failed",
          output: lastText,
          error: timeBudgetMessage(runOptions.maxSeconds),
          usage,
          turns: state.turns,
        }
      : { status: "cancelled", output: null, error: "the run was cancelled", usage, turns: state.turns };

  try {
    for (;;) {
      if (options.signal.aborted) return cancelled();
      if (budgetSpent(state)) {
        return {
          status: "failed",
          output: lastText,
          error: `stopped after ${options.maxSteps} steps (the job's maxSteps) without a final answer from the model`,
          usage,
          turns: state.turns,
        };
      }
      const step = state.turns + 1;
      const outcome = await callWithFallback({
        models: options.models,
        // A model that failed over stays failed for the rest of the run: retrying a server that
        // just refused a connection on every turn only adds the delay.
        startIndex: modelIndex,
        prepared,
        request: (model) => {
          // The smaller of what the provider declares and what the server says the model is loaded with.
          const contextTokens = smallest(options.contextTokens, model?.loadedContextLength);
          const removed = contextTokens ? fitToContext(messages, toolSpecs, contextBudget(contextTokens)).removed : 0;
          return {
            request: {
              messages: [...messages],
              ...(toolSpecs.length ? { tools: toolSpecs } : {}),
              // After an answer that missed the schema, the corrective turn is bound to it natively.
              ...(options.finalCheck?.responseSchema
                ? {
                    responseSchema: {
                      ...options.finalCheck.responseSchema,
                      ...(corrections > 0 ? { final: true } : {}),
                    },
                  }
                : {}),
            },
            contextTokens,
            removedToolOutputs: removed,
            // Said once per model, on its first turn with tools.
            warning:
              toolSpecs.length && model?.toolUse === false && !warned.has(model.id) && warned.add(model.id)
                ? NOT_TRAINED_FOR_TOOLS
                : undefined,
          };
        },
        signal: options.signal,
        step,
        sink: options.steps,
        now,
        usage,
      });
      if (outcome.kind === "cancelled") return cancelled();
      if (outcome.kind === "failed")
        return { status: "failed", output: lastText, error: outcome.error, usage, turns: state.turns };
      modelIndex = outcome.modelIndex;
      state.turns = step;
      // Adapters already de-duplicate; a client that does not must not make the loop run a call twice.
      const calls = normaliseToolCalls(outcome.response.toolCalls, `call_${step}_`);
      state.lastResponse = { ...outcome.response, toolCalls: calls };
      const text = outcome.response.text;
      if (text) lastText = text;
      // The reasoning stays on the turn: the adapter sends it back to the server that produced it
      // (DeepSeek's thinking mode refuses a tool loop without it) and to no other.
      const reasoning = outcome.response.reasoning;
      messages.push({
        role: "assistant",
        content: text,
        ...(calls.length ? { toolCalls: calls } : {}),
        ...(reasoning ? { reasoning } : {}),
      });

      // Over budget: even a final answer in this turn does not make the run a success (the budget
      // is a hard limit), but its text is kept as the output; tool calls asked for are not run.
      if (tokensSpent(state)) {
        return {
          status: "failed",
          output: lastText,
          error:
            `token budget exceeded: the run used ${totalTokens(usage)} tokens (prompt + completion), ` +
            `over the job's budget.maxTokens of ${options.maxTokens}; no further model call was made` +
            (calls.length ? ` and the ${calls.length} tool call(s) of the last turn were not run` : ""),
          usage,
          turns: state.turns,
        };
      }

      if (finalAnswer(state)) {
        if (text.trim() === "") {
          return {
            status: "failed",
            output: null,
            // LM Studio answers a prompt longer than the loaded context with an empty stream.
            error:
              "the model returned an empty answer (no text and no tool call); a prompt exceeding the model's loaded context length does this",
            usage,
            turns: state.turns,
          };
        }
        const checked = options.finalCheck?.check(text);
        if (!checked) return { status: "succeeded", output: text, usage, turns: state.turns };
        if (checked.ok) return { status: "succeeded", output: text, usage, turns: state.turns, result: checked.result };
        if (corrections >= (options.finalCheck?.retries ?? 0)) {
          return {
            status: "failed",
            output: text,
            error: options.finalCheck!.failure(checked.problem),
            usage,
            turns: state.turns,
          };
        }
        corrections++;
        messages.push({ role: "user", content: options.finalCheck!.correction(checked.problem) });
        continue;
      }

      const results = await runToolCalls(calls, step, byModelName, options, fleet);
      messages.push(...results);
      if (options.signal.aborted) return cancelled();
    }
  } catch (err) {
    // A step store or router that throws something unexpected: the run fails, the Core goes on.
    return {
      status: "failed",
      output: lastText,
      error: `internal error: ${err instanceof Error ? err.message : String(err)}`,
      usage,
      turns: state.turns,
    };
  }
}

/** Runs one turn's calls, a few at a time, recording steps and returning tool messages in call order. */
async function runToolCalls(
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

function timeBudgetMessage(maxSeconds: number | undefined): string {
  return `time budget exceeded: the run took longer than the job's budget.maxSeconds of ${maxSeconds} s; the model request and tool calls in flight were aborted`;
}

/** The time limit aborts with a TimeoutError, a cancel with the run queue's reason string. */
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

/** The tool's description prefixed with where it runs, for jobs that span several Nodes. */
function describeWhere(tool: AgentTool): string {
  const server = mcpServerOf(tool.source);
  const where = server === undefined ? `node "${tool.nodeName}"` : `node "${tool.nodeName}", MCP server "${server}"`;
  return `[${where}] ${tool.description}`;
}

function userMessage(prompt: string, input: unknown): string {
  if (input === undefined || input === null || input === "") return prompt;
  const text = typeof input === "string" ? input : JSON.stringify(input, null, 2);
  return `${prompt}\n\nInput:\n${text}`;
}

const NOT_TRAINED_FOR_TOOLS =
  "this model is not trained for tool use (LM Studio's capabilities): LM Studio prompts it with its generic tool format and its calls are read from its text, which such models often get wrong; pick a model marked for tool use if calls fail";

const smallest = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** Room for the prompt: the context minus a reserve for the answer. */
function contextBudget(contextTokens: number): number {
  return Math.max(256, contextTokens - Math.min(4096, Math.floor(contextTokens / 4)));
}

const elapsed = (from: number, to: number) => Math.max(0, Math.round(to - from));
