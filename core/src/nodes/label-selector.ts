/**
 * Kubernetes label selectors (the `labels.Parse` grammar: equality- and set-based requirements,
 * joined by commas, all of which must hold):
 *
 *   env=prod   env==prod   env!=prod   role in (web,db)   role notin (canary)   gpu   !canary
 *
 * `!=` and `notin` also match a Node without the key, as in Kubernetes. An empty selector
 * matches every Node. A selector that does not parse throws SelectorError naming the position
 * (0-based character offset), so the API can answer 400 with where the mistake is.
 */

export type Requirement =
  | { key: string; op: "=" | "!="; value: string }
  | { key: string; op: "in" | "notin"; values: string[] }
  | { key: string; op: "exists" | "!exists" };

export interface LabelSelector {
  source: string;
  requirements: Requirement[];
}

export class SelectorError extends Error {
  readonly code = "invalid_selector" as const;
  /** 0-based character offset in the selector where parsing stopped. */
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = "SelectorError";
    this.position = position;
  }
}

/** The label key characters Nodes may carry (NodeBody in api/schemas.ts), so any key can be selected. */
const KEY_CHAR = /[a-zA-Z0-9_./-]/;
/** Kubernetes values are `[a-zA-Z0-9_.-]`; a few more are allowed because Node label values may
 * hold versions and hosts (`1.2+rc`, `eu:west`, `a@b`). Never a delimiter of the grammar. */
const VALUE_CHAR = /[a-zA-Z0-9_./:@+-]/;
const MAX_KEY = 63;
const MAX_VALUE = 256;
const MAX_SELECTOR = 4096;

class Cursor {
  readonly text: string;
  pos = 0;
  constructor(text: string) {
    this.text = text;
  }
  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  take(re: RegExp): string {
    const start = this.pos;
    while (this.pos < this.text.length && re.test(this.text[this.pos]!)) this.pos++;
    return this.text.slice(start, this.pos);
  }
  describe(): string {
    const c = this.peek();
    return c === undefined ? "end of selector" : `"${c}"`;
  }
}

export function parseSelector(source: string): LabelSelector {
  if (source.length > MAX_SELECTOR) throw new SelectorError(`selector longer than ${MAX_SELECTOR} characters`, 0);
  const c = new Cursor(source);
  const requirements: Requirement[] = [];
  c.skipSpace();
  if (c.atEnd()) return { source, requirements };
  for (;;) {
    requirements.push(parseRequirement(c));
    c.skipSpace();
    if (c.atEnd()) break;
    if (c.peek() !== ",") throw new SelectorError(`expected "," or end of selector, found ${c.describe()}`, c.pos);
    c.pos++;
    c.skipSpace();
    if (c.atEnd()) throw new SelectorError("expected a requirement after ','", c.pos);
  }
  return { source, requirements };
}

function parseKey(c: Cursor): string {
  c.skipSpace();
  const start = c.pos;
  const key = c.take(KEY_CHAR);
  if (!key) throw new SelectorError(`expected a label key, found ${c.describe()}`, start);
  if (key.length > MAX_KEY) throw new SelectorError(`label key longer than ${MAX_KEY} characters`, start);
  return key;
}

function parseValue(c: Cursor, allowEmpty: boolean): string {
  c.skipSpace();
  const start = c.pos;
  const value = c.take(VALUE_CHAR);
  if (!value && !allowEmpty) throw new SelectorError(`expected a value, found ${c.describe()}`, start);
  if (value.length > MAX_VALUE) throw new SelectorError(`value longer than ${MAX_VALUE} characters`, start);
  return value;
}

function parseRequirement(c: Cursor): Requirement {
  c.skipSpace();
  if (c.peek() === "!") {
    c.pos++;
    const key = parseKey(c);
    return { key, op: "!exists" };
  }
  const key = parseKey(c);
  c.skipSpace();
  if (c.atEnd() || c.peek() === ",") return { key, op: "exists" };
  if (c.startsWith("!=")) {
    c.pos += 2;
    return { key, op: "!=", value: parseValue(c, true) };
  }
  if (c.startsWith("==")) {
    c.pos += 2;
    return { key, op: "=", value: parseValue(c, true) };
  }
  if (c.peek() === "=") {
    c.pos += 1;
    return { key, op: "=", value: parseValue(c, true) };
  }
  const opStart = c.pos;
  const word = c.take(/[a-z]/i);
  if (word !== "in" && word !== "notin") {
    throw new SelectorError(
      `expected "=", "==", "!=", "in", "notin", "," or end of selector after key "${key}", found ${
        word ? `"${word}"` : c.describe()
      }`,
      opStart,
    );
  }
  c.skipSpace();
  if (c.peek() !== "(") throw new SelectorError(`expected "(" after "${word}", found ${c.describe()}`, c.pos);
  c.pos++;
  const values: string[] = [];
  for (;;) {
    values.push(parseValue(c, false));
    c.skipSpace();
    if (c.peek() === ",") {
      c.pos++;
      continue;
    }
    if (c.peek() === ")") {
      c.pos++;
      break;
    }
    throw new SelectorError(`expected "," or ")" in the value list, found ${c.describe()}`, c.pos);
  }
  return { key, op: word, values: [...new Set(values)] };
}

export function matchesRequirement(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.op) {
    case "exists":
      return has;
    case "!exists":
      return !has;
    case "=":
      return has && value === req.value;
    case "!=":
      return !has || value !== req.value;
    case "in":
      return has && req.values.includes(value!);
    case "notin":
      return !has || !req.values.includes(value!);
  }
}

export function matchesSelector(selector: LabelSelector, labels: Record<string, string>): boolean {
  return selector.requirements.every((req) => matchesRequirement(req, labels));
}

/** The selector written back in its canonical form (what a parsed selector means, spacing removed). */
export function formatSelector(selector: LabelSelector): string {
  return selector.requirements.map(formatRequirement).join(",");
}

function formatRequirement(r: Requirement): string {
  if ("values" in r) return `${r.key} ${r.op} (${r.values.join(",")})`;
  if ("value" in r) return `${r.key}${r.op}${r.value}`;
  return r.op === "exists" ? r.key : `!${r.key}`;
}
