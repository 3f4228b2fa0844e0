/**
 * exec_command's command line, split into argv WITHOUT a shell (issue 15.1).
 *
 * The rule: a command is accepted only if /bin/sh would read it as one simple command with exactly
 * these words, and nothing else. So quoting works as in sh (`'…'`, `"…"`, `\x`), and everything a
 * shell would act on — separators, pipes, `&`, redirections, subshells, `$` expansions and command
 * substitution, globs, `~`, comments, an environment assignment in front — is refused with the
 * character and its position, instead of being passed on as a literal word that would mean
 * something different to whoever reads (or approves) the command. Hand-written rather than
 * shell-quote's `parse`, because that one expands variables and turns operators into objects: it is
 * built to interpret a shell line, this is built to refuse one.
 */

export class CommandLineError extends Error {
  readonly code = "command_refused";
  constructor(message: string) {
    super(message);
    this.name = "CommandLineError";
  }
}

/** Unquoted, these make sh do something other than pass a word on. */
const OPERATORS: Record<string, string> = {
  ";": "a command separator",
  "|": "a pipe",
  "&": "a background or && operator",
  "<": "a redirection",
  ">": "a redirection",
  "(": "a subshell",
  ")": "a subshell",
  $: "a variable expansion or $( ) command substitution",
  "`": "a backtick command substitution",
  "*": "a glob",
  "?": "a glob",
  "[": "a glob",
};
/** Special only where a word starts. */
const WORD_START: Record<string, string> = {
  "~": "a home directory expansion",
  "#": "a comment",
};

function describeControl(char: string): string {
  if (char === "\n") return "a newline";
  if (char === "\r") return "a carriage return";
  if (char === "\0") return "a NUL byte";
  return `the control character U+${char.charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`;
}

// Tab separates words like a space; every other C0 control character and DEL is refused anywhere,
// quoted or not: no program argument needs one, and a newline would end the command in a shell.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;

function refuse(char: string, index: number, what: string, hint: string): never {
  throw new CommandLineError(
    `command refused: ${JSON.stringify(char)} at position ${index + 1} is ${what}. This Node runs commands ` +
      `without a shell (${hint}; pipes, redirections and substitutions need a Node started with --allow-shell)`,
  );
}

/** Splits `command` into argv the way sh would, or throws CommandLineError naming what it refused. */
export function parseCommandLine(command: string): string[] {
  const control = CONTROL.exec(command);
  if (control) refuse(control[0], control.index, describeControl(control[0]), "write it as one line");
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  while (i < command.length) {
    const char = command[i]!;
    if (char === " " || char === "\t") {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
      continue;
    }
    const special = OPERATORS[char] ?? (word === undefined ? WORD_START[char] : undefined);
    if (special) refuse(char, i, special, "quote it to pass it literally");
    if (char === "\\") {
      if (i + 1 >= command.length) refuse(char, i, "a trailing backslash", "remove it");
      word = (word ?? "") + command[i + 1];
      i += 2;
    } else if (char === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) refuse(char, i, "an unterminated single quote", "close the quote");
      word = (word ?? "") + command.slice(i + 1, end);
      i = end + 1;
    } else if (char === '"') {
      const [text, next] = doubleQuoted(command, i);
      word = (word ?? "") + text;
      i = next;
    } else {
      word = (word ?? "") + char;
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  if (words.length === 0) throw new CommandLineError("command refused: it names no program");
  // `PATH=/tmp/x ls`, `LD_PRELOAD=/tmp/x.so ls`: in sh an assignment in front sets the command's
  // environment. Here it would be a program name no one means, so it is refused by name.
  if (words[0]!.includes("=")) {
    throw new CommandLineError(
      `command refused: ${JSON.stringify(words[0]!.slice(0, 80))} is an environment assignment; ` +
        "this Node runs commands without a shell and does not let a command set its environment",
    );
  }
  return words;
}

/** The text of a "…" string starting at `start` and the index after its closing quote. */
function doubleQuoted(command: string, start: number): [string, number] {
  let text = "";
  let i = start + 1;
  while (i < command.length) {
    const char = command[i]!;
    if (char === '"') return [text, i + 1];
    if (char === "$" || char === "`") {
      refuse(char, i, `${OPERATORS[char]} (sh expands it inside double quotes)`, "use single quotes for a literal");
    }
    if (char === "\\" && i + 1 < command.length && '$`"\\'.includes(command[i + 1]!)) {
      text += command[i + 1];
      i += 2;
      continue;
    }
    // Any other backslash stays, as in sh: "a\b" is a\b.
    text += char;
    i += 1;
  }
  refuse('"', start, "an unterminated double quote", "close the quote");
}

const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One word as sh would need it written: bare when it is plain, else single-quoted. */
export function quoteWord(word: string): string {
  if (PLAIN_WORD.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** argv as one canonical line: what --exec-allow patterns are matched against. */
export function canonicalCommand(argv: readonly string[]): string {
  return argv.map(quoteWord).join(" ");
}
