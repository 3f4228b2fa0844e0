import type { ToolResult } from "@fabricore/protocol";

/** What the model reads of a tool's result: its text blocks; other blocks described, not dumped
 * (a base64 image is useless to a text model and huge). */
export function toolResultText(result: ToolResult): string {
  const parts: string[] = [];
  for (const block of result.content) {
    const b = block as { type: string; text?: unknown; mimeType?: unknown; data?: unknown };
    if (b.type === "text" && typeof b.text === "string") parts.push(b.text);
    else if (b.type === "image")
      parts.push(`[image ${String(b.mimeType)}, ${String(b.data ?? "").length} base64 characters, not shown]`);
    else parts.push(JSON.stringify(block));
  }
  if (parts.length === 0 && result.structuredContent) parts.push(JSON.stringify(result.structuredContent));
  const text = parts.join("\n");
  return text === "" ? "(no output)" : text;
}

/**
 * Cuts text longer than `max` characters, keeping its start and its end (logs and command output
 * tend to matter at both ends), with a note in the middle that says how much was cut, so the model
 * knows it saw only part and can ask for less (e.g. read_file with maxBytes, or a narrower command).
 */
export function capText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  const note = (cut: number) =>
    `\n\n[… ${cut} of ${text.length} characters cut here: the tool output exceeded the ${max}-character limit …]\n\n`;
  const room = Math.max(0, max - note(text.length).length);
  const head = Math.ceil(room * 0.7);
  const tail = room - head;
  const cut = text.length - head - tail;
  return { text: text.slice(0, head) + note(cut) + (tail > 0 ? text.slice(text.length - tail) : ""), truncated: true };
}
