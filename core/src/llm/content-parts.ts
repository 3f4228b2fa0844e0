/**
 * A message's `content` as servers really send it: a string (OpenAI), null (tool-only turns), or an
 * array of parts (Mistral's Magistral and reasoning modes: `{type: "text", text}` and
 * `{type: "thinking", thinking: [{type: "text", text}]}`), in streamed deltas and whole answers alike.
 * Concatenating an array as a string gives "[object Object]" — the reason this exists.
 */
export function readContent(content: unknown): { text: string; reasoning: string } {
  if (typeof content === "string") return { text: content, reasoning: "" };
  if (!Array.isArray(content)) return { text: "", reasoning: "" };
  let text = "";
  let reasoning = "";
  for (const part of content) {
    if (typeof part === "string") {
      text += part;
      continue;
    }
    if (!part || typeof part !== "object") continue;
    const p = part as { type?: unknown; text?: unknown; thinking?: unknown };
    if (p.type === "text" && typeof p.text === "string") text += p.text;
    else if (p.type === "thinking" || p.type === "reasoning") reasoning += partText(p.thinking ?? p.text);
    // Other parts (references, images) carry nothing the answer needs.
  }
  return { text, reasoning };
}

function partText(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((v) => partText(v)).join("");
  if (value && typeof value === "object") {
    const v = value as { text?: unknown };
    if (typeof v.text === "string") return v.text;
  }
  return "";
}

/** The reasoning a delta or message carries in a field of its own, and which field it was. */
export function readReasoningField(
  message: unknown,
): { field: "reasoning_content" | "reasoning"; text: string } | undefined {
  if (!message || typeof message !== "object") return undefined;
  const m = message as { reasoning_content?: unknown; reasoning?: unknown };
  if (typeof m.reasoning_content === "string" && m.reasoning_content)
    return { field: "reasoning_content", text: m.reasoning_content };
  if (typeof m.reasoning === "string" && m.reasoning) return { field: "reasoning", text: m.reasoning };
  return undefined;
}
