/**
 * Prompt templates: `{{input.a.b}}`, `{{webhook.event}}`, `{{job.name}}`, `{{run.id}}` in a job's
 * prompt are filled when a run starts (and previewed by the job form: this file is shared with
 * the UI, hence in protocol/). The rules (README "Prompt templates"):
 * - a placeholder is `{{ root.path }}`; spaces inside the braces are allowed; `root` is one of
 *   ROOTS and, for every root but `input`, the field one of its FIELDS — anything else is refused
 *   when the job is saved (400), so a typo cannot reach a run;
 * - `input.…` walks the run's input by object key or array index (`{{input.commits.0.id}}`);
 * - a MISSING value (no such key, no input, `webhook.*` on a run no webhook started, or null)
 *   becomes the empty string — the prompt reads on, as in Mustache;
 * - strings go in as they are, numbers and booleans as text, objects and arrays as compact JSON;
 *   each value is cut to MAX_VALUE_CHARS, because the prompt is the instruction the model obeys
 *   and input may come from a sender (keep `{{input…}}` for short identifiers; the whole input is
 *   given to the model separately, fenced as data);
 * - text that is not a placeholder (a lone `{{`, `{{ }}`) is left as it is.
 */

export const ROOTS = ["input", "webhook", "job", "run"] as const;
export type TemplateRoot = (typeof ROOTS)[number];
export const FIELDS: Record<Exclude<TemplateRoot, "input">, readonly string[]> = {
  webhook: ["event", "deliveryId"],
  job: ["id", "name"],
  run: ["id", "trigger"],
};
export const MAX_VALUE_CHARS = 2000;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*(?:\.[\w-]+)*)\s*\}\}/g;

export interface TemplateContext {
  input: unknown;
  webhook: { event: string | null; deliveryId: string | null } | null;
  job: { id: string; name: string };
  run: { id: string; trigger: string };
}

/** Problems with a prompt's placeholders, one message each; [] when every one is valid. */
export function checkTemplate(prompt: string): string[] {
  const problems: string[] = [];
  for (const match of prompt.matchAll(PLACEHOLDER)) {
    const [root, ...path] = match[1]!.split(".");
    if (!(ROOTS as readonly string[]).includes(root!)) {
      problems.push(`${match[0]} refers to an unknown root "${root}" (known: ${ROOTS.join(", ")})`);
      continue;
    }
    if (root === "input") continue;
    const fields = FIELDS[root as keyof typeof FIELDS];
    if (path.length !== 1 || !fields.includes(path[0]!)) {
      problems.push(`${match[0]}: ${root} has the fields ${fields.map((f) => `${root}.${f}`).join(", ")}`);
    }
  }
  return problems;
}

/** The prompt with every placeholder filled (see the rules above). */
export function renderTemplate(prompt: string, ctx: TemplateContext): string {
  return prompt.replace(PLACEHOLDER, (whole, expr: string) => {
    const [root, ...path] = expr.split(".");
    if (!(ROOTS as readonly string[]).includes(root!)) return whole;
    const value = lookup((ctx as unknown as Record<string, unknown>)[root!], path);
    return cap(textOf(value));
  });
}

function lookup(start: unknown, path: string[]): unknown {
  let value = start;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    // Own keys only: `{{input.constructor}}` must not reach Object.prototype.
    if (!Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function cap(text: string): string {
  return text.length <= MAX_VALUE_CHARS ? text : `${text.slice(0, MAX_VALUE_CHARS)}…(cut)`;
}
