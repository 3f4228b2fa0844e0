import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { ExecCommandArgs, type ExecCommandResult, type ToolResult } from "@fabricore/protocol";
import { CommandLineError, parseCommandLine } from "./command-line.ts";
import { execAllowRefusal } from "./exec-allowlist.ts";
import { type OutputSink, OutputStreamer } from "./output-stream.ts";
import { errorResult, jsonResult, parseArgs } from "./result.ts";

export const EXEC_DEFAULT_TIMEOUT_MS = 60_000;
/** Per stream. Keeps a chatty command's answer well inside one WebSocket frame. */
export const EXEC_OUTPUT_CAP_BYTES = 256 * 1024;
/** Between SIGTERM to the group and SIGKILL: long enough for a tidy exit, short enough for a deadline. */
const KILL_GRACE_MS = 1_000;
/** After the command exits, how long to wait for its pipes to drain. A background child may hold them
 * open forever (`daemon &`); the answer must not wait for it. */
const DRAIN_AFTER_EXIT_MS = 200;

export interface ExecOptions {
  allowExec: boolean;
  /** --allow-shell: the command goes to `/bin/sh -c`. Otherwise it is split into argv and run without
   * a shell (command-line.ts). Never together with `allow`: a pattern cannot bound what a shell runs. */
  shell?: boolean | undefined;
  /** When non-empty, the argv must match one of these (--exec-allow, exec-allowlist.ts); the Node's
   * word beats the Core's. */
  allow?: readonly RegExp[] | undefined;
  signal?: AbortSignal;
  outputCapBytes?: number;
  /** The Core shows the output live: each piece goes here too (batched and bounded, output-stream.ts). */
  onOutput?: OutputSink | undefined;
}

/** Collects at most `cap` bytes of a stream and drops the rest, so a runaway command cannot exhaust memory. */
class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  private readonly cap: number;
  constructor(cap: number) {
    this.cap = cap;
  }
  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    if (chunk.length > room) this.truncated = true;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  text(): string {
    return new TextDecoder("utf-8").decode(Buffer.concat(this.chunks, this.size), { stream: this.truncated });
  }
}

/** The Node's environment minus its own settings: a command must not be able to print the node token. */
function commandEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("FABRICORE_")));
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** The program and its arguments for `command`, or the error result that refuses it. */
function commandArgv(command: string, options: ExecOptions): string[] | ToolResult {
  const allow = options.allow ?? [];
  if (options.shell) {
    if (allow.length > 0) {
      // env.ts refuses this combination at start; refusing here too keeps a wiring mistake closed.
      return errorResult("command refused: --exec-allow cannot bound a shell (--allow-shell)", { code: "not_allowed" });
    }
    return ["/bin/sh", "-c", command];
  }
  let argv: string[];
  try {
    argv = parseCommandLine(command);
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    const also =
      allow.length > 0
        ? `; this Node also runs only commands matching its --exec-allow patterns (${allow.map((p) => p.source).join(", ")})`
        : "";
    return errorResult(error.message + also, { code: error.code });
  }
  if (allow.length === 0) return argv;
  const refusal = execAllowRefusal(argv, allow);
  return refusal === undefined ? argv : errorResult(refusal, { code: "not_allowed" });
}

function spawnFailure(program: string, error: NodeJS.ErrnoException): string {
  if (error.code === "ENOENT") return `command not found: ${program} (not on this Node's PATH)`;
  if (error.code === "EACCES") return `permission denied: ${program} is not executable by the Node`;
  return `could not start ${program}: ${error.message}`;
}

/**
 * `exec_command`: the command's argv (or, with --allow-shell, `/bin/sh -c <command>`) in its own
 * process group (detached: a new session), so the timeout and a cancel kill everything the command
 * started, not only the first process.
 */
export async function execCommandTool(rawArgs: unknown, options: ExecOptions): Promise<ToolResult> {
  if (!options.allowExec) {
    return errorResult("exec_command is disabled on this Node; start the Node with --allow-exec to enable it", {
      code: "not_allowed",
    });
  }
  const parsed = parseArgs("exec_command", ExecCommandArgs, rawArgs);
  if (!parsed.ok) return parsed.result;
  const { command, cwd } = parsed.value;
  const argv = commandArgv(command, options);
  if (!Array.isArray(argv)) return argv;
  const [program, ...args] = argv as [string, ...string[]];
  const timeoutMs = parsed.value.timeoutMs ?? EXEC_DEFAULT_TIMEOUT_MS;
  if (options.signal?.aborted)
    return errorResult("exec_command was cancelled before it started", { code: "cancelled" });
  if (cwd !== undefined) {
    // Checked here because spawn reports a bad cwd as "spawn <program> ENOENT", which misleads.
    const dir = await stat(cwd).catch(() => undefined);
    if (!dir?.isDirectory()) return errorResult(`cwd ${cwd} does not exist or is not a directory`);
  }
  const cap = options.outputCapBytes ?? EXEC_OUTPUT_CAP_BYTES;
  const stdout = new CappedBuffer(cap);
  const stderr = new CappedBuffer(cap);

  return await new Promise<ToolResult>((resolve) => {
    const child = spawn(program, args, {
      cwd,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: commandEnvironment(),
    });
    let timedOut = false;
    let cancelled = false;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;

    const stop = () => {
      if (child.pid === undefined || killTimer) return;
      killGroup(child.pid, "SIGTERM");
      const pid = child.pid;
      // SIGKILL the group even if the leader died on SIGTERM: its children may have ignored it.
      killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), KILL_GRACE_MS);
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const live = options.onOutput ? new OutputStreamer(options.onOutput) : undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      live?.push("stdout", chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      live?.push("stderr", chunk);
    });

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      options.signal?.removeEventListener("abort", onAbort);
      // After a timeout or cancel the SIGKILL still fires: it is what ends any survivor in the group.
      if (!timedOut && !cancelled && killTimer) clearTimeout(killTimer);
      child.stdout.destroy();
      child.stderr.destroy();
      // The last live piece goes before the result, so a viewer never sees output after the end.
      live?.close();
      const result: ExecCommandResult = {
        exitCode,
        signal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        timedOut,
      };
      const notes: string[] = [];
      if (timedOut) notes.push(`killed after the ${timeoutMs} ms timeout`);
      if (cancelled) notes.push("killed because the call was cancelled");
      if (result.truncated) notes.push(`output capped at ${cap} bytes per stream`);
      resolve(
        jsonResult(
          { ...result, ...(notes.length > 0 && { note: notes.join("; ") }) },
          exitCode !== 0 || timedOut || cancelled,
        ),
      );
    };

    child.once("error", (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      options.signal?.removeEventListener("abort", onAbort);
      resolve(errorResult(spawnFailure(program, error)));
    });
    child.once("exit", (code, signal) => {
      // Wait for the pipes to drain, but not for a background child that keeps them open.
      let closed = 0;
      const drained = setTimeout(() => finish(code, signal), DRAIN_AFTER_EXIT_MS);
      const onClose = () => {
        closed += 1;
        if (closed === 2) {
          clearTimeout(drained);
          finish(code, signal);
        }
      };
      if (child.stdout.closed || child.stdout.destroyed) onClose();
      else child.stdout.once("close", onClose);
      if (child.stderr.closed || child.stderr.destroyed) onClose();
      else child.stderr.once("close", onClose);
    });
  });
}
