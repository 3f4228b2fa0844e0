import type { ToolResult } from "@fabricore/protocol";
import type { LlmErrorCode } from "../llm/errors.ts";
import type { FinishReason, LlmClient, ModelStatus, ResponseSchema, SpeedStats, TokenUsage } from "../llm/types.ts";
import type { FleetToolsOptions } from "./fleet-tools.ts";

/** A tool of one of the job's Nodes, with the name the model sees (see tool-names.ts). */
export interface AgentTool {
  /** Model-facing, unique within the run, `^[a-zA-Z0-9_-]{1,64}$`. */
  modelName: string;
  /** The tool's own name on its source. */
  name: string;
  /** `builtin` or `mcp:<server>`. */
  source: string;
  nodeId: string;
  nodeName: string;
  description: string;
  inputSchema: object;
}

/** Sends one call to the tool's Node. Throws ProtocolError (node_offline, deadline_exceeded,
 * cancelled, invalid_arguments, ...) when there is no result; the loop tells the model. */
export interface ToolRouter {
  call(
    tool: AgentTool,
    args: Record<string, unknown>,
    opts: { signal: AbortSignal; deadlineMs: number; callId: string },
  ): Promise<ToolResult>;
}

export interface LlmStep {
  type: "llm";
  /** The provider's name as configured. */
  provider: string;
  model: string;
  durationMs: number;
  usage: TokenUsage;
  finishReason?: FinishReason;
  text?: string;
  /** What the model thought before answering (a reasoning field, `thinking` parts or `<think>` tags),
   * kept apart from `text` and never in the run's output. */
  reasoning?: string;
  toolCalls?: Array<{ id: string; name: string; arguments: string }>;
  /** Set when this attempt failed. */
  error?: string;
  errorCode?: LlmErrorCode;
  /** Set on a failed attempt when the run moved on to another model: which one. */
  fallback?: { provider: string; model: string };
  /** How fast the model answered (time to first token, tokens per second), measured by the adapter
   * on streamed turns or as the server reported it. */
  speed?: SpeedStats;
  /** Part of `durationMs` spent loading the model before the turn (LM Studio's load endpoint). */
  loadMs?: number;
  /** The context length the prompt was fitted to (the provider's declared one or the one LM Studio
   * reports the model loaded with), when one is known. */
  contextTokens?: number;
  /** Tool outputs replaced by a note before this turn to fit `contextTokens`. */
  removedToolOutputs?: number;
  /** Something the operator should know about this model, e.g. that it was not trained for tool
   * use (its calls are then read from its text). */
  warning?: string;
}

export interface ToolStep {
  type: "tool";
  /** The tool's own name (as its Node knows it). */
  tool: string;
  /** The name the model used. */
  modelName: string;
  /** The Node's name ("" when the model named no known tool). */
  node: string;
  nodeId: string;
  source: string;
  /** Parsed arguments, or the raw text when they were not a JSON object. */
  arguments: unknown;
  /** The result as the model saw it (text cut to the output cap). */
  result: ToolResult;
  isError: boolean;
  durationMs: number;
  callId: string;
  /** Set when the output was cut to the cap. */
  truncated?: boolean;
}

export type RunStep = LlmStep | ToolStep;

/** Live events of a run (streamed, not stored). */
export type AgentEvent =
  | { type: "model_attempt_started"; step: number; attempt: number; provider: string; model: string }
  | { type: "text_delta"; step: number; text: string }
  /** What holds a model request up: queued for the provider's slots, or the model loading. */
  | { type: "model_status"; step: number; provider: string; model: string; status: ModelStatus }
  | { type: "tool_call_started"; step: number; callId: string; tool: string; node: string; arguments: unknown };

export interface StepSink {
  /** Persist a step; awaited, so steps are stored in order. */
  step(step: RunStep): Promise<void>;
  event?(event: AgentEvent): void;
}

export interface AgentModel {
  providerName: string;
  client: LlmClient;
  model: string;
}

export interface RunAgentOptions {
  runId: string;
  /** Labels and status of the run's Nodes, for the fleet tools a many-Node run gets (fleet-tools.ts). */
  fleet?: FleetToolsOptions;
  prompt: string;
  /** The run's input (manual input or webhook body), shown to the model after the prompt. */
  input?: unknown;
  system?: string;
  /** The job's model first, then its fallbacks. */
  models: AgentModel[];
  tools: AgentTool[];
  router: ToolRouter;
  steps: StepSink;
  /** Most model turns (answers from a model) before the run fails. */
  maxSteps: number;
  signal: AbortSignal;
  /** Clock for durations (ms); injectable so tests are deterministic. */
  now?: () => number;
  /** Deadline for one tool call, handed to the Node (default 120 s). */
  toolDeadlineMs?: number;
  /** Longest tool output the model sees, in characters (default 20,000). */
  maxToolOutputChars?: number;
  /** The model's context length in tokens; when set, old tool outputs are dropped to stay inside. */
  contextTokens?: number;
  /** Tool calls of one turn running at once (default 4). */
  toolConcurrency?: number;
  /** Most prompt + completion tokens the run may spend; once over, the run fails and no further
   * model call (and none of that turn's tool calls) is made. Unset: no limit. */
  maxTokens?: number;
  /** Wall-clock limit of the run in seconds; when it passes, the model request and tool calls in
   * flight are aborted and the run fails with the reason. Unset: no limit. */
  maxSeconds?: number;
  /** Checks the final answer (structured output). A problem is sent back to the model as a user
   * message, up to `retries` times; then the run fails with it. The tools stay declared, but with
   * `responseSchema` the corrective turn asks for no call: it is bound to the schema natively. */
  finalCheck?: FinalCheck;
}

export interface FinalCheck {
  check(text: string): { ok: true; result: unknown } | { ok: false; problem: string };
  /** What the model is told after an answer that failed the check. */
  correction(problem: string): string;
  retries: number;
  /** The run's error when the last retry fails too. */
  failure(problem: string): string;
  /** Sent with each model request for the provider's native structured output (where it has one). */
  responseSchema?: ResponseSchema;
}

export interface RunAgentResult {
  status: "succeeded" | "failed" | "cancelled";
  output: string | null;
  error?: string;
  usage: TokenUsage;
  /** Model turns taken. */
  turns: number;
  /** What `finalCheck` made of the final answer. */
  result?: unknown;
}
