import { parseArgs } from "node:util";
import { CliError } from "./errors.ts";

/** Flags every command takes: where the Core is and how to print. */
export interface GlobalFlags {
  url?: string;
  token?: string;
  json: boolean;
  color?: boolean;
}

export type Command =
  | { name: "help"; topic?: string }
  | { name: "version" }
  | { name: "login"; url: string; token: string }
  | { name: "nodes"; selector?: string }
  | { name: "jobs" }
  | { name: "jobs-apply"; files: string[]; prune: boolean; dryRun: boolean }
  | { name: "jobs-export"; job?: string }
  | { name: "run"; job: string; input?: unknown; follow: boolean }
  | { name: "runs"; job?: string; status?: string; limit?: number }
  | { name: "approve"; run: string }
  | { name: "cancel"; run: string }
  | { name: "deny"; run: string; reason?: string }
  | { name: "completion"; shell: "bash" | "zsh" };

export interface Parsed {
  command: Command;
  flags: GlobalFlags;
}

export type OptionSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  color: { type: "boolean" },
  "no-color": { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/** Each command's own flags and how many positionals it takes (min, max). */
export const COMMANDS: Record<string, { options: Record<string, OptionSpec>; positionals: [number, number] }> = {
  login: { options: {}, positionals: [1, 1] },
  nodes: { options: { selector: { type: "string", short: "l" } }, positionals: [0, 0] },
  jobs: { options: {}, positionals: [0, 0] },
  "jobs apply": {
    options: {
      file: { type: "string", short: "f", multiple: true },
      prune: { type: "boolean" },
      "dry-run": { type: "boolean" },
    },
    positionals: [0, 0],
  },
  "jobs export": { options: {}, positionals: [0, 1] },
  run: { options: { input: { type: "string" }, follow: { type: "boolean" } }, positionals: [1, 1] },
  runs: {
    options: { job: { type: "string" }, status: { type: "string" }, limit: { type: "string" } },
    positionals: [0, 0],
  },
  approve: { options: {}, positionals: [1, 1] },
  cancel: { options: {}, positionals: [1, 1] },
  deny: { options: { reason: { type: "string" } }, positionals: [1, 1] },
  completion: { options: {}, positionals: [1, 1] },
};

export const JOBS_SUBCOMMANDS = ["apply", "export"];

/** argv without the program name → the command and the global flags; a mistake is a `usage` error. */
export function parseCommandLine(argv: string[]): Parsed {
  const first = firstWord(argv);
  const word = first === -1 ? undefined : argv[first];
  if (word === undefined || word === "help") {
    const topic = word === "help" ? argv[first + 1] : undefined;
    if (argv.includes("--version")) return { command: { name: "version" }, flags: { json: false } };
    return { command: { name: "help", topic }, flags: { json: argv.includes("--json") } };
  }
  if (word === "version") return { command: { name: "version" }, flags: { json: false } };
  let key = word;
  let rest = [...argv.slice(0, first), ...argv.slice(first + 1)];
  if (word === "jobs") {
    const sub = firstWord(rest);
    if (sub !== -1 && JOBS_SUBCOMMANDS.includes(rest[sub]!)) {
      key = `jobs ${rest[sub]}`;
      rest = [...rest.slice(0, sub), ...rest.slice(sub + 1)];
    }
  }
  const spec = COMMANDS[key];
  if (!spec) throw new CliError("usage", `unknown command "${word}" (see fabricore help)`);

  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    throw new CliError("usage", `${key}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (values.help) return { command: { name: "help", topic: key }, flags: { json: false } };
  const [min, max] = spec.positionals;
  if (positionals.length < min || positionals.length > max) {
    throw new CliError(
      "usage",
      positionals.length < min
        ? `${key}: missing ${min - positionals.length === 1 ? "an argument" : "arguments"} (see fabricore help ${key.split(" ")[0]})`
        : `${key}: unexpected argument "${positionals[max]}"`,
    );
  }
  const flags: GlobalFlags = {
    url: values.url as string | undefined,
    token: values.token as string | undefined,
    json: values.json === true,
    color: values["no-color"] ? false : values.color ? true : undefined,
  };
  return { command: toCommand(key, positionals, values), flags };
}

/** Index of the first word that is not a flag nor the value of a global string flag (`--url U`). */
function firstWord(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return i + 1 < argv.length ? i + 1 : -1;
    if (!arg.startsWith("-")) return i;
    const name = arg.replace(/^--?/, "");
    if (GLOBAL_OPTIONS[name]?.type === "string") i++;
  }
  return -1;
}

function toCommand(
  key: string,
  positionals: string[],
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
): Command {
  const str = (name: string) => values[name] as string | undefined;
  switch (key) {
    case "login": {
      const token = str("token");
      if (!token) throw new CliError("usage", "login: give the API token with --token T");
      return { name: "login", url: positionals[0]!, token };
    }
    case "nodes":
      return { name: "nodes", selector: str("selector") };
    case "jobs":
      return { name: "jobs" };
    case "jobs apply": {
      const files = (values.file as string[] | undefined) ?? [];
      if (files.length === 0) throw new CliError("usage", "jobs apply: give -f FILE.yaml or -f DIR");
      return { name: "jobs-apply", files, prune: values.prune === true, dryRun: values["dry-run"] === true };
    }
    case "jobs export":
      return { name: "jobs-export", job: positionals[0] };
    case "run": {
      const raw = str("input");
      let input: unknown;
      if (raw !== undefined) {
        try {
          input = JSON.parse(raw);
        } catch (error) {
          throw new CliError("usage", `run: --input is not JSON: ${error instanceof Error ? error.message : error}`);
        }
      }
      return { name: "run", job: positionals[0]!, input, follow: values.follow === true };
    }
    case "runs": {
      const rawLimit = str("limit");
      const limit = rawLimit === undefined ? undefined : Number(rawLimit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 500))
        throw new CliError("usage", "runs: --limit takes a whole number from 1 to 500");
      return { name: "runs", job: str("job"), status: str("status"), limit };
    }
    case "approve":
      return { name: "approve", run: positionals[0]! };
    case "cancel":
      return { name: "cancel", run: positionals[0]! };
    case "deny":
      return { name: "deny", run: positionals[0]!, reason: str("reason") };
    case "completion": {
      const shell = positionals[0];
      if (shell !== "bash" && shell !== "zsh") throw new CliError("usage", "completion: bash or zsh");
      return { name: "completion", shell };
    }
  }
  throw new CliError("usage", `unknown command "${key}"`);
}
