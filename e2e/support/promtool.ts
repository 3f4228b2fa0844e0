import { spawnSync } from "node:child_process";

/** promtool (Debian package `prometheus`; .ci/run installs it). Missing: the check is skipped on a
 * developer machine and FAILS under CI=true, like every other service a suite needs. */
export function findPromtool(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status === 0 && path) return path;
  if (process.env.CI === "true") throw new Error("promtool is missing under CI=true (apt-get install prometheus)");
  console.warn("skipping the promtool check: promtool is not installed (apt-get install prometheus)");
  return undefined;
}

/** `promtool check metrics` on an exposition text: its problems, one a line (empty when clean). */
export function promtoolCheck(promtool: string, text: string): { status: number | null; problems: string } {
  const result = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: result.status, problems: `${result.stdout}${result.stderr}`.trim() };
}

/** The sample names in an exposition text (`name{…} value` / `name value`). */
export function sampleNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)) names.add(m[1]!);
  return names;
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/** The metric names a PromQL expression reads: identifiers that are not functions, aggregation
 * keywords, label names (inside {…} or by (…)), strings, durations or numbers. */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    // A variable query's label_values(metric, label): the second argument is a label.
    .replace(/label_values\(([^,()]+(?:\{[^}]*\})?),[^)]*\)/g, "$1")
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names: string[] = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (after.startsWith("(") || PROMQL_WORDS.has(word.toLowerCase())) continue;
    // A number's exponent or a duration's unit (1e3, 5m) is not an identifier on its own.
    if (/[0-9.]$/.test(stripped.slice(0, m.index ?? 0))) continue;
    names.push(word);
  }
  return names;
}
