import type { ChatMessage, ToolSpec } from "../llm/types.ts";
import { capText } from "./tool-output.ts";

/**
 * Token estimate without a tokenizer: ~3 characters a token is pessimistic for English and close for
 * code and JSON, which is what tool output mostly is. Erring high is the safe side: LM Studio answers
 * an overflowing prompt with garbage or an empty stream instead of an error.
 */
export function estimateTokens(messages: readonly ChatMessage[], tools: readonly ToolSpec[] = []): number {
  let chars = 0;
  for (const m of messages) {
    chars += m.content.length + 16;
    if (m.role === "assistant") for (const c of m.toolCalls ?? []) chars += c.name.length + c.arguments.length + 16;
  }
  for (const t of tools) chars += t.name.length + t.description.length + JSON.stringify(t.inputSchema).length;
  return Math.ceil(chars / 3);
}

export const droppedNote = (chars: number) =>
  `[tool output removed to keep the conversation within the model's context length (it was ${chars} characters); call the tool again if you still need it]`;

/**
 * Keeps the conversation within `budgetTokens` by replacing tool outputs with a note, oldest first.
 * Outputs answering the latest assistant turn are the model's working material: they are only cut
 * (not removed), and only when removing all older ones was not enough. Mutates `messages` so the
 * notes stay put from turn to turn (the conversation's prefix stays stable).
 */
export function fitToContext(
  messages: ChatMessage[],
  tools: readonly ToolSpec[],
  budgetTokens: number,
): { removed: number } {
  let removed = 0;
  if (estimateTokens(messages, tools) <= budgetTokens) return { removed };
  const lastAssistant = messages.findLastIndex((m) => m.role === "assistant");
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role !== "tool" || i > lastAssistant || m.content.startsWith("[tool output removed")) continue;
    messages[i] = { ...m, content: droppedNote(m.content.length) };
    removed++;
    if (estimateTokens(messages, tools) <= budgetTokens) return { removed };
  }
  const latest = messages.map((m, i) => ({ m, i })).filter(({ m, i }) => m.role === "tool" && i > lastAssistant);
  if (latest.length === 0) return { removed };
  const excessChars = (estimateTokens(messages, tools) - budgetTokens) * 3;
  const total = latest.reduce((n, { m }) => n + m.content.length, 0);
  for (const { m, i } of latest) {
    const share = Math.ceil((m.content.length / Math.max(1, total)) * excessChars);
    const keep = Math.max(200, m.content.length - share - 200);
    messages[i] = { ...m, content: capText(m.content, keep).text } as ChatMessage;
  }
  return { removed };
}
