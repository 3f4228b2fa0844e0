import type { ToolCall } from "./types.ts";

/** One streamed `tool_calls` delta, as OpenAI-compatible servers send it. */
export interface ToolCallDelta {
  index: number;
  id?: string | null;
  function?: { name?: string | null; arguments?: string | null } | null;
}

/**
 * Builds whole tool calls from streamed deltas: the name and id come first, the arguments arrive
 * in pieces, several calls interleave by `index`. Some servers restart an index with a new id for a
 * second call instead of using a new index; a differing id on a finished entry starts a new call.
 */
export class ToolCallAssembler {
  private readonly calls: Array<{ id: string; name: string; arguments: string }> = [];
  private readonly slotByIndex = new Map<number, number>();

  add(delta: ToolCallDelta): void {
    let slot = this.slotByIndex.get(delta.index);
    const current = slot === undefined ? undefined : this.calls[slot];
    const startsAnother =
      current !== undefined && !!delta.id && !!current.id && delta.id !== current.id && current.name !== "";
    if (slot === undefined || startsAnother) {
      slot = this.calls.length;
      this.calls.push({ id: "", name: "", arguments: "" });
      this.slotByIndex.set(delta.index, slot);
    }
    const call = this.calls[slot]!;
    if (delta.id && !call.id) call.id = delta.id;
    // Names arrive whole in practice, but the spec allows pieces; concatenating handles both.
    if (delta.function?.name) call.name += delta.function.name;
    if (delta.function?.arguments) call.arguments += delta.function.arguments;
  }

  finish(): ToolCall[] {
    return this.calls.map((call) => ({ ...call }));
  }
}

/** Gives every call a non-empty id unique within the turn (some servers omit ids or reuse them),
 * then drops calls that repeat an earlier one exactly: small models do emit the same call twice in
 * one turn, and running a command twice is never what was meant. */
export function normaliseToolCalls(calls: ToolCall[], idPrefix: string): ToolCall[] {
  const seenIds = new Set<string>();
  const seenCalls = new Set<string>();
  const out: ToolCall[] = [];
  calls.forEach((call, i) => {
    const key = `${call.name}\u0000${canonicalArguments(call.arguments)}`;
    if (seenCalls.has(key)) return;
    seenCalls.add(key);
    let id = call.id || `${idPrefix}${i}`;
    while (seenIds.has(id)) id = `${id}_${i}`;
    seenIds.add(id);
    out.push({ ...call, id });
  });
  return out;
}

/** Arguments with object keys sorted and whitespace removed, so `{"a":1, "b":2}` and `{"b":2,"a":1}`
 * count as the same call; unparseable text is compared as trimmed text. */
export function canonicalArguments(raw: string): string {
  const text = raw.trim();
  if (text === "") return "{}";
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
