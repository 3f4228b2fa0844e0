/** Values shorter than this are not redacted: replacing every "ab" in a transcript would mangle it,
 * and a secret that short protects nothing anyway. */
export const MIN_REDACTED_LENGTH = 6;

interface Entry {
  value: string;
  /** The value as it appears inside a JSON string (quotes, backslashes, control characters escaped). */
  json: string;
  label: string;
}

/**
 * Replaces known secret values with `[secret:NAME]`: in run transcripts before a step is stored or
 * streamed, in what the model sees of tool results, and in every log line. It holds the values in
 * memory (that is the point); `set` is called with every stored secret and provider key when the
 * Core starts, when a secret changes, and before each run.
 */
export class SecretRedactor {
  private entries: Entry[] = [];

  set(values: ReadonlyArray<{ name: string; value: string }>): void {
    const entries = values
      .filter((v) => v.value.length >= MIN_REDACTED_LENGTH)
      .map((v) => ({ value: v.value, json: JSON.stringify(v.value).slice(1, -1), label: `[secret:${v.name}]` }));
    // Longest first, so a secret that contains another is replaced whole.
    entries.sort((a, b) => b.value.length - a.value.length);
    this.entries = entries;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Plain text (model text, a tool's output). */
  redact(text: string): string {
    let out = text;
    for (const e of this.entries) if (out.includes(e.value)) out = out.split(e.value).join(e.label);
    return out;
  }

  /** Serialized JSON text (a log line): the raw value and its JSON-escaped form. */
  redactSerialized(text: string): string {
    let out = this.redact(text);
    for (const e of this.entries) if (e.json !== e.value && out.includes(e.json)) out = out.split(e.json).join(e.label);
    return out;
  }

  /** Every string inside a JSON-like value (arguments, a whole step), keys included. */
  redactDeep<T>(value: T): T {
    if (this.entries.length === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === "string") return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [this.redact(k), this.walk(v)]));
    }
    return value;
  }
}

/** A pino destination that redacts every line before it reaches `out` (stdout in main.ts). */
export function redactingDestination(
  redactor: SecretRedactor,
  out: { write(line: string): unknown },
): { write(line: string): void } {
  return { write: (line: string) => void out.write(redactor.redactSerialized(line)) };
}
