/**
 * Reasoning written into the content as `<think>…</think>`: DeepSeek-R1 distills, Qwen3 and QwQ,
 * older LM Studio releases and any server without a reasoning parser. R1-style chat templates open
 * the block in the prompt, so the content may hold only the closing tag: everything before it is
 * reasoning then.
 */
export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export function splitThinkTags(content: string): { text: string; reasoning: string } {
  if (!content.includes(THINK_OPEN) && !content.includes(THINK_CLOSE)) return { text: content, reasoning: "" };
  const reasoning: string[] = [];
  let text = "";
  let rest = content;
  const firstOpen = rest.indexOf(THINK_OPEN);
  const firstClose = rest.indexOf(THINK_CLOSE);
  if (firstClose >= 0 && (firstOpen < 0 || firstClose < firstOpen)) {
    reasoning.push(rest.slice(0, firstClose));
    rest = rest.slice(firstClose + THINK_CLOSE.length);
  }
  for (;;) {
    const open = rest.indexOf(THINK_OPEN);
    if (open < 0) {
      text += rest;
      break;
    }
    text += rest.slice(0, open);
    const after = rest.slice(open + THINK_OPEN.length);
    const close = after.indexOf(THINK_CLOSE);
    // An unclosed block (the answer was cut off while thinking) is all reasoning.
    reasoning.push(close < 0 ? after : after.slice(0, close));
    if (close < 0) break;
    rest = after.slice(close + THINK_CLOSE.length);
  }
  return {
    text: text.trim(),
    reasoning: reasoning
      .map((r) => r.trim())
      .filter(Boolean)
      .join("\n\n"),
  };
}
