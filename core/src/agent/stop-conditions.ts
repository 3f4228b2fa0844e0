import type { ChatResponse, TokenUsage } from "../llm/types.ts";

/** What the loop knows between turns. */
export interface LoopState {
  /** Model turns answered so far. */
  turns: number;
  lastResponse: ChatResponse | undefined;
  /** Tokens spent so far, every model call of the run (failed-over attempts report none). */
  usage: TokenUsage;
}

/** A reason to stop, checked between turns (after Vercel AI SDK's stop conditions). */
export type StopCondition = (state: LoopState) => boolean;

/** The model answered without asking for a tool: its text is the run's output. */
export const finalAnswer: StopCondition = (state) =>
  state.lastResponse !== undefined && state.lastResponse.toolCalls.length === 0;

/** The job's step budget is spent. */
export const maxSteps =
  (limit: number): StopCondition =>
  (state) =>
    state.turns >= limit;

/** The run spent more prompt + completion tokens than its budget (the job's budget.maxTokens).
 * Checked after every model answer, so no model call is made once it holds. */
export const maxTokens =
  (limit: number): StopCondition =>
  (state) =>
    totalTokens(state.usage) > limit;

export const totalTokens = (usage: TokenUsage): number => usage.promptTokens + usage.completionTokens;
