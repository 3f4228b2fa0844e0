/** The compiled command line (`dist/fabricore`, make build-cli), run as a user runs it. */
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./harness.ts";

export const CLI_BINARY = join(ROOT, "dist/fabricore");

/** Builds dist/fabricore when it is missing (make test builds it first; this is for running one
 * e2e file by hand). The flags are the Makefile's build-cli. */
export function ensureCliBinary(): string {
  if (!existsSync(CLI_BINARY)) {
    execFileSync(
      "npx",
      [
        "bun",
        "build",
        "--compile",
        "--minify",
        "--sourcemap",
        "--bytecode",
        "--format=esm",
        "--no-compile-autoload-dotenv",
        "--no-compile-autoload-bunfig",
        "cli/src/main.ts",
        "--outfile",
        CLI_BINARY,
      ],
      { cwd: ROOT, stdio: "inherit" },
    );
  }
  return CLI_BINARY;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running command: its output so far, and its end. */
export interface CliProcess {
  readonly stdout: string;
  readonly stderr: string;
  done: Promise<CliResult>;
  kill(signal?: NodeJS.Signals): void;
}

/** Only the variables given reach the command (plus PATH/HOME), so a developer's own
 * FABRICORE_URL or NO_COLOR cannot change what a test sees. */
export function startCli(args: string[], env: Record<string, string>, stdin?: string): CliProcess {
  const child = spawn(ensureCliBinary(), args, {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? "");
  const done = new Promise<CliResult>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    done,
    kill: (signal: NodeJS.Signals = "SIGKILL") => child.kill(signal),
  };
}

export function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  return startCli(args, env).done;
}
