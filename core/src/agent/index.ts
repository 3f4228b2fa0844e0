export { mapBounded } from "./concurrency.ts";
export { droppedNote, estimateTokens, fitToContext } from "./context-budget.ts";
export { FLEET_TOOL_NAMES, FLEET_TOOLS_AT, FleetTools, type FleetToolsOptions } from "./fleet-tools.ts";
export { callWithFallback, type TurnOutcome } from "./model-fallback.ts";
export { runAgent } from "./run-agent.ts";
export {
  finalAnswer,
  type LoopState,
  maxSteps,
  maxTokens,
  type StopCondition,
  totalTokens,
} from "./stop-conditions.ts";
export { type ParsedArguments, parseToolArguments } from "./tool-arguments.ts";
export {
  MAX_TOOL_NAME_LENGTH,
  nameToolsForModel,
  sanitizePart,
  TOOL_NAME_PATTERN,
  type ToolToName,
} from "./tool-names.ts";
export { capText, toolResultText } from "./tool-output.ts";
export type * from "./types.ts";
