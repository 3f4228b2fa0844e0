import type { ChatResponse } from "../llm/types.ts";

/** What the loop knows between turns. */
export interface LoopState {
  /** Model turns answered so far. */
  turns: number;
  lastResponse: ChatResponse | undefined;
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
