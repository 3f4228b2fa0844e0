import { describe, expect, it } from "vitest";
import { parseCommandLine } from "./args.ts";
import { CliError, exitCodeOf } from "./errors.ts";

function usageError(argv: string[]): CliError {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error(`parsed: ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("reads commands, sub-commands and their flags", () => {
    expect(parseCommandLine(["jobs", "apply", "-f", "a.yaml", "-f", "dir", "--prune"]).command).toEqual({
      name: "jobs-apply",
      files: ["a.yaml", "dir"],
      prune: true,
      dryRun: false,
    });
    expect(parseCommandLine(["jobs"]).command).toEqual({ name: "jobs" });
    expect(parseCommandLine(["cancel", "r1"]).command).toEqual({ name: "cancel", run: "r1" });
    expect(parseCommandLine(["jobs", "export", "disk report"]).command).toEqual({
      name: "jobs-export",
      job: "disk report",
    });
    expect(parseCommandLine(["run", "disk", "--input", '{"a":[1]}', "--follow"]).command).toEqual({
      name: "run",
      job: "disk",
      input: { a: [1] },
      follow: true,
    });
    expect(parseCommandLine(["runs", "--job", "disk", "--limit", "5"]).command).toEqual({
      name: "runs",
      job: "disk",
      status: undefined,
      limit: 5,
    });
    expect(parseCommandLine(["deny", "run_1", "--reason", "not now"]).command).toEqual({
      name: "deny",
      run: "run_1",
      reason: "not now",
    });
    expect(parseCommandLine(["login", "http://core:8080", "--token", "fct_x"]).command).toEqual({
      name: "login",
      url: "http://core:8080",
      token: "fct_x",
    });
  });

  it("takes the global flags before or after the command, and their values are not the command", () => {
    const parsed = parseCommandLine(["--url", "http://c:1", "--token=t", "nodes", "--json", "--no-color"]);
    expect(parsed.command).toEqual({ name: "nodes", selector: undefined });
    expect(parsed.flags).toEqual({ url: "http://c:1", token: "t", json: true, color: false });
    expect(parseCommandLine(["jobs", "--json", "export"]).command).toEqual({ name: "jobs-export", job: undefined });
  });

  it("answers help for no command, help, and --help on a command", () => {
    expect(parseCommandLine([]).command).toEqual({ name: "help", topic: undefined });
    expect(parseCommandLine(["help", "run"]).command).toEqual({ name: "help", topic: "run" });
    expect(parseCommandLine(["run", "--help"]).command).toEqual({ name: "help", topic: "run" });
  });

  it("refuses wrong usage with exit status 2 and a message naming the mistake", () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command "frobnicate"/],
      [["nodes", "--bogus"], /Unknown option '--bogus'/],
      [["run"], /missing an argument/],
      [["approve", "a", "b"], /unexpected argument "b"/],
      [["jobs", "apply"], /give -f FILE.yaml/],
      [["run", "j", "--input", "{nope"], /--input is not JSON/],
      [["runs", "--limit", "0"], /--limit/],
      [["completion", "fish"], /bash or zsh/],
      [["login", "http://x"], /--token/],
    ];
    for (const [argv, message] of cases) {
      const error = usageError(argv);
      expect(error.code, argv.join(" ")).toBe("usage");
      expect(error.message).toMatch(message);
      expect(exitCodeOf(error)).toBe(2);
    }
  });
});
