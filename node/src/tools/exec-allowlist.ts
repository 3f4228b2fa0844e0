import { canonicalCommand } from "./command-line.ts";

/**
 * `--exec-allow` on argv (issue 15.1, 21.10). The command has already been split without a shell
 * (command-line.ts), so a pattern can only admit or refuse that one program with those words. Three
 * rules, each closing a way around a pattern that looks safe:
 *
 * 1. Patterns match the canonical line (argv re-quoted, one space between words), in full.
 * 2. No argument may hold a `..` path segment: `cat /var/log/../../etc/shadow` is text that matches
 *    `cat /var/log/.*` yet names /etc/shadow. Refused rather than normalised, because which words are
 *    paths is the program's business (normalising `s/a//b/` would change a sed script).
 * 3. An option (a word starting with `-`) must be written out in the pattern that admits the command:
 *    a wildcard never stands for an option, so `grep \S+ /var/log/syslog` cannot become
 *    `grep --file=/etc/shadow /var/log/syslog`, nor `find /srv .*` `find /srv -delete`. For
 *    `--name=value` only `--name=` must be written; the value is the pattern's to match. Words after a
 *    `--` (itself written in the pattern) are operands, as programs that honour `--` read them.
 */

const DOT_DOT_SEGMENT = /(?:^|[/=:,])\.\.(?:[/:,]|$)/;

/** The part of an option that must appear in the pattern's text. */
function optionLiteral(word: string): string {
  const eq = word.indexOf("=");
  return word.startsWith("--") && eq > 2 ? word.slice(0, eq + 1) : word;
}

const WORD_CHAR = /[A-Za-z0-9_-]/;

/** Does `literal` occur in `source` as a whole word (not as part of `-hx` or `x-h`)? */
function writtenIn(source: string, literal: string): boolean {
  for (let at = source.indexOf(literal); at >= 0; at = source.indexOf(literal, at + 1)) {
    const before = source[at - 1];
    const after = source[at + literal.length];
    const startOk = before === undefined || !WORD_CHAR.test(before);
    const endOk = literal.endsWith("=") || after === undefined || !WORD_CHAR.test(after);
    if (startOk && endOk) return true;
  }
  return false;
}

/** The options a pattern must spell out: every `-…` word up to and including a `--`. */
function optionsOf(argv: readonly string[]): string[] {
  const options: string[] = [];
  for (const word of argv.slice(1)) {
    if (!word.startsWith("-")) continue;
    options.push(optionLiteral(word));
    if (word === "--") break;
  }
  return options;
}

/** Why `argv` is refused by `patterns` (anchored RegExps from env.ts), or undefined if one admits it. */
export function execAllowRefusal(argv: readonly string[], patterns: readonly RegExp[]): string | undefined {
  const listed = patterns.map((p) => p.source).join(", ");
  const dotDot = argv.find((word) => DOT_DOT_SEGMENT.test(word));
  if (dotDot !== undefined) {
    return (
      `command refused: the argument ${JSON.stringify(dotDot.slice(0, 200))} has a ".." path segment; ` +
      "with --exec-allow, paths must be written without .. (patterns match the text, .. would lead out of it)"
    );
  }
  const line = canonicalCommand(argv);
  const matching = patterns.filter((pattern) => pattern.test(line));
  if (matching.length === 0) {
    return (
      `command refused: this Node runs only commands matching its --exec-allow patterns ` +
      `(${listed}); ${JSON.stringify(line.slice(0, 200))} matches none`
    );
  }
  const options = optionsOf(argv);
  if (matching.some((pattern) => options.every((option) => writtenIn(pattern.source, option)))) return undefined;
  const unwritten = options.filter((option) => !matching.some((pattern) => writtenIn(pattern.source, option)));
  // Each option may be written in some matching pattern but never all in one: name them all.
  const missing = unwritten.length > 0 ? unwritten : options;
  return (
    `command refused: the option${missing.length === 1 ? "" : "s"} ${missing.map((o) => JSON.stringify(o)).join(", ")} ` +
    `${missing.length === 1 ? "is" : "are"} not written out in the --exec-allow pattern that matches (${matching.map((p) => p.source).join(", ")}); ` +
    "a wildcard in a pattern never stands for an option"
  );
}
