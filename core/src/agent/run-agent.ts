import { mcpServerOf } from "@fabricore/protocol";
import { normaliseToolCalls } from "../llm/tool-calls.ts";
import type { ChatMessage, ModelInfo, TokenUsage, ToolSpec } from "../llm/types.ts";
import { fitToContext } from "./context-budget.ts";
import { FleetTools } from "./fleet-tools.ts";
import { callWithFallback } from "./model-fallback.ts";
import { runToolCalls } from "./run-agent-tools.ts";
import { finalAnswer, type LoopState, maxSteps, maxTokens, totalTokens } from "./stop-conditions.ts";
import { timeLimit } from "./time-limit.ts";
import type { AgentTool, RunAgentOptions, RunAgentResult } from "./types.ts";

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

function timeBudgetMessage(maxSeconds: number | undefined): string {
  return `time budget exceeded: the run took longer than the job's budget.maxSeconds of ${maxSeconds} s; the model request and tool calls in flight were aborted`;
}

/** The time limit aborts with a TimeoutError, a cancel with the run queue's reason string. */
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
