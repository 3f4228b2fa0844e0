/** The label value every value past the cap is folded into. */
export const OTHER_LABEL = "_other";

/** Longest label value kept; a longer one is cut (a tool or model name is not an essay). */
const MAX_VALUE_LENGTH = 100;

/**
 * Bounds the values one label can take in this process: the first `max` distinct values keep their
 * own series, every later one is counted under `_other`. Prometheus keeps a series per label
 * combination forever (until it ages out of retention), so a label fed from data the Core does not
 * control (Node names, MCP tool names, model names) must not be able to grow without limit.
 * First come, first kept: a value never moves between its own series and `_other` while the process
 * lives, so a rate() over it stays meaningful.
 */
export class LabelCap {
  private readonly seen = new Set<string>();
  readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  value(raw: string): string {
    const value = raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw;
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(value);
    return value;
  }

  /** How many values have their own series. */
  get size(): number {
    return this.seen.size;
  }
}
