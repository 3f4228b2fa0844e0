/**
 * Cross-process test harness: the real Core (`node core/src/main.ts`), the real compiled Node
 * binary (`dist/fabricore-node`), on loopback, each with its own temp data dir.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CORE_V8_FLAGS } from "@fabricore/core/v8-flags.ts";
import { inject } from "vitest";

export const ROOT = resolve(import.meta.dirname, "../..");
export const NODE_BINARY = join(ROOT, "dist/fabricore-node");
export const ADMIN_PASSWORD = "e2e-admin-password";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fabricore-${prefix}-`));
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

/** Builds dist/fabricore-node when it is missing (make test builds it first; this is for
 * running one e2e file by hand). */
export function ensureNodeBinary(): string {
  if (!existsSync(NODE_BINARY)) {
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
        "--compile-jit-policy=100",
        "--no-compile-autoload-dotenv",
        "--no-compile-autoload-bunfig",
        "--external",
        "cpu-features",
        "node/src/main.ts",
        "--outfile",
        NODE_BINARY,
      ],
      {
        cwd: ROOT,
        stdio: "inherit",
      },
    );
  }
  return NODE_BINARY;
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 100,
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
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ""}`,
  );
}

/** A process with its output kept (shown when a test fails). */
export class Proc {
  readonly child: ChildProcess;
  output = "";
  constructor(child: ChildProcess) {
    this.child = child;
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
  }
  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 5000): Promise<void> {
    if (this.exited) return;
    const done = new Promise<void>((r) => this.child.once("exit", () => r()));
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    await done;
    clearTimeout(timer);
  }
}

export interface CoreHandle {
  proc: Proc;
  url: string;
  port: number;
  dataDir: string;
  env: Record<string, string>;
}

export async function startCore(
  options: { dataDir?: string; port?: number; env?: Record<string, string> } = {},
): Promise<CoreHandle> {
  const dataDir = options.dataDir ?? tempDir("core");
  const port = options.port ?? (await freePort());
  const env = {
    ...e2eDatabase(),
    FABRICORE_DATA_DIR: dataDir,
    FABRICORE_PORT: String(port),
    FABRICORE_HOST: "127.0.0.1",
    FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
    FABRICORE_LOG_LEVEL: "warn",
    FABRICORE_HEARTBEAT_SECONDS: "2",
    ...options.env,
  };
  const proc = new Proc(
    spawn(process.execPath, [...CORE_V8_FLAGS, join(ROOT, "core/src/main.ts")], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    `the Core at ${url}`,
    async () => {
      if (proc.exited) throw new Error(`the Core exited:\n${proc.output}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    30_000,
  );
  return { proc, url, port, dataDir, env };
}

/** The `postgres` project (FABRICORE_TEST_DATABASE=postgres, see vitest.config.ts) runs the same
 * tests with every Core on one fresh PostgreSQL database; otherwise each Core uses SQLite in its
 * data dir. A restarted Core (same data dir) finds its data either way. */
function e2eDatabase(): { FABRICORE_DATABASE_URL?: string } {
  if (process.env.FABRICORE_TEST_DATABASE !== "postgres") return {};
  return { FABRICORE_DATABASE_URL: inject("e2eDatabaseUrl") };
}

/** A Node process and its data dir: the Node's key lives there, so a restarted Node that should keep
 * its identity (its enrollment token is spent after the first start) is given the same one. */
export type NodeProc = Proc & { dataDir: string };

export function startNode(
  coreUrl: string,
  token: string,
  args: string[] = [],
  env: Record<string, string> = {},
  dataDir: string = tempDir("node"),
): NodeProc {
  const proc = new Proc(
    spawn(ensureNodeBinary(), ["--core", coreUrl, "--data-dir", dataDir, ...args], {
      env: { ...process.env, FABRICORE_NODE_TOKEN: token, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  return Object.assign(proc, { dataDir });
}

export class ApiClient {
  readonly base: string;
  token = "";
  constructor(base: string) {
    this.base = base;
  }

  async login(username = "admin", password = ADMIN_PASSWORD): Promise<this> {
    const res = await this.request("POST", "/api/auth/login", { username, password });
    this.token = (res.body as { token: string }).token;
    return this;
  }

  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed as any };
  }

  /** The request must succeed; returns the JSON body. */
  async ok(method: string, path: string, body?: unknown): Promise<any> {
    const res = await this.request(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async waitRun(runId: string, statuses = ["succeeded", "failed", "cancelled"], timeoutMs = 30_000): Promise<any> {
    return waitFor(
      `run ${runId} to reach ${statuses.join("/")}`,
      async () => {
        const run = await this.ok("GET", `/api/runs/${runId}`);
        return statuses.includes(run.status) ? run : undefined;
      },
      timeoutMs,
      100,
    );
  }

  async waitNodeOnline(nodeId: string, timeoutMs = 20_000): Promise<any> {
    return waitFor(
      `node ${nodeId} online`,
      async () => {
        const node = await this.ok("GET", `/api/nodes/${nodeId}`);
        return node.status === "online" && node.tools.length > 0 ? node : undefined;
      },
      timeoutMs,
    );
  }
}
