/** Child processes for benchmarks: spawning TypeScript entry points with IPC, reading a process's
 * memory and open descriptors from /proc, and raising the descriptor limit of a child. */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const NODE_BINARY = resolve(ROOT, "dist/fabricore-node");

/** Descriptors a bench child would like to open. A child's soft limit is raised towards it with
 * `prlimit`, but never past the hard limit (raising that needs CAP_SYS_RESOURCE, which containers
 * usually lack); `nofileLimits` says what a process really got. */
export const WANTED_NOFILE = 65_536;

/** Soft and hard descriptor limits of a process (default: this one). */
export function nofileLimits(pid: number | "self" = "self"): { soft: number; hard: number } {
  const limits = readFileSync(`/proc/${pid}/limits`, "utf8");
  const match = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(limits);
  const num = (v: string | undefined) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v ?? Number.NaN));
  return { soft: num(match?.[1]), hard: num(match?.[2]) };
}

export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? Number.NaN);
  return kb * 1024;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The soft descriptor limit of a running process. */
export function nofileLimit(pid: number): number {
  return nofileLimits(pid).soft;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  output: () => string;
  /** Sends one IPC request and waits for the reply with the same id. */
  request<T = unknown>(message: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** Resolves with the first IPC message matching `predicate`. */
  waitMessage<T = unknown>(predicate: (m: any) => boolean, timeoutMs?: number): Promise<T>;
  kill(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

let nextRequestId = 1;

/** Spawns `node [nodeArgs] <script>` with an IPC channel; with `nofile` under `prlimit` so the child
 * may hold that many sockets. */
export function spawnChild(
  script: string,
  options: { env?: Record<string, string>; nodeArgs?: string[]; args?: string[]; nofile?: number } = {},
): Child {
  const nodeArgs = [...(options.nodeArgs ?? []), resolve(ROOT, script), ...(options.args ?? [])];
  const own = nofileLimits();
  const soft = options.nofile ? Math.min(options.nofile, own.hard) : own.soft;
  const [cmd, args] =
    soft > own.soft
      ? [
          "prlimit",
          [
            `--nofile=${soft}:${own.hard === Number.POSITIVE_INFINITY ? "unlimited" : own.hard}`,
            process.execPath,
            ...nodeArgs,
          ],
        ]
      : [process.execPath, nodeArgs];
  const proc = spawn(cmd as string, args as string[], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const listeners = new Set<(m: any) => boolean>();
  // Messages nobody waited for yet (a "ready" sent before the parent asked), oldest first, bounded.
  const unclaimed: any[] = [];
  proc.on("message", (m) => {
    for (const l of [...listeners]) if (l(m)) return;
    unclaimed.push(m);
    if (unclaimed.length > 100) unclaimed.shift();
  });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const waitMessage = <T>(predicate: (m: any) => boolean, timeoutMs = 120_000): Promise<T> =>
    new Promise<T>((resolveMessage, reject) => {
      const earlier = unclaimed.findIndex((m) => predicate(m));
      if (earlier >= 0) {
        resolveMessage(unclaimed.splice(earlier, 1)[0] as T);
        return;
      }
      const timer = setTimeout(() => {
        listeners.delete(listener);
        reject(new Error(`${script}: no matching message within ${timeoutMs} ms\n${output.slice(-4000)}`));
      }, timeoutMs);
      const listener = (m: any): boolean => {
        if (!predicate(m)) return false;
        clearTimeout(timer);
        listeners.delete(listener);
        resolveMessage(m as T);
        return true;
      };
      listeners.add(listener);
      void exited.then((code) => {
        if (!listeners.has(listener)) return;
        clearTimeout(timer);
        listeners.delete(listener);
        reject(new Error(`${script} exited (${code}) while waiting\n${output.slice(-4000)}`));
      });
    });
  return {
    proc,
    // Under prlimit the pid is prlimit's, which execs node: the same process.
    pid: proc.pid!,
    output: () => output,
    waitMessage,
    async request<T>(message: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
      const id = nextRequestId++;
      const reply = waitMessage<{ id: number; error?: string; result: T }>((m) => m && m.replyTo === id, timeoutMs);
      proc.send({ ...message, id });
      const answer = await reply;
      if (answer.error) throw new Error(`${script}: ${answer.error}`);
      return answer.result;
    },
    async kill(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5_000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
    exited,
  };
}

/** The child side of `Child.request`: answers `{id, ...}` messages with `{replyTo: id, result}`. */
export function serveIpc(handlers: Record<string, (message: any) => unknown | Promise<unknown>>): void {
  process.on("message", async (message: any) => {
    const handler = handlers[message?.type];
    if (!handler) {
      process.send?.({ replyTo: message?.id, error: `unknown request ${message?.type}` });
      return;
    }
    try {
      const result = await handler(message);
      process.send?.({ replyTo: message.id, result });
    } catch (error) {
      process.send?.({ replyTo: message.id, error: error instanceof Error ? error.stack : String(error) });
    }
  });
  // The parent going away ends the child (a bench interrupted with ^C must not leave sockets behind).
  process.on("disconnect", () => process.exit(0));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a value, bounded in time. */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (${String(lastError)})` : ""}`);
}
