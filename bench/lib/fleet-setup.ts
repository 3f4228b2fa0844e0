/** Shared set-up of the fleet, throughput and soak benchmarks (and e2e/reliability.test.ts): a data
 * directory with N enrolled Nodes, the Core in a child process, simulated Nodes in a few more. */
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRepositories, migrateToLatest, openDatabase } from "@fabricore/core/database/index.ts";
import { generateToken, hashToken, loadMasterKey, SecretBox } from "@fabricore/core/secrets/index.ts";
import { CORE_V8_FLAGS } from "@fabricore/core/v8-flags.ts";
import { type Child, freePort, spawnChild, until, WANTED_NOFILE } from "./proc.ts";

export const ADMIN_PASSWORD = "bench-admin-password";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `fabricore-bench-${prefix}-`));
}

/** How a simulated Node proves who it is: a bearer token (a bare NodeHub in a benchmark), or its node id
 * and Ed25519 private key (PKCS#8 PEM) for the Core's signed challenge (protocol/src/node-auth.ts). */
export type SimCredential = { token: string } | { nodeId: string; key: string };

/** Creates `count` Nodes straight in the database and registers a fresh Ed25519 key for each, as
 * POST /api/nodes + the Node's first-start POST /api/nodes/enroll would (the token is spent), before
 * the Core starts. Every later connection signs a challenge, exactly like the real Node. `labels(i)`
 * gives Node i its labels (for selectors). */
export async function enrollNodes(
  dataDir: string,
  count: number,
  prefix = "sim",
  labels: (i: number) => Record<string, string> = () => ({}),
): Promise<SimCredential[]> {
  const key = loadMasterKey({ env: undefined, dataDir });
  const box = new SecretBox({ current: { version: 1, key: key.key } });
  const database = openDatabase({ dataDir });
  await migrateToLatest(database.db);
  const repos = createRepositories(database.db, box);
  const credentials: SimCredential[] = [];
  for (let i = 0; i < count; i++) {
    const tokenHash = hashToken(generateToken("fcn_"));
    const node = await repos.nodes.create({ name: `${prefix}-${i}`, labels: labels(i), tokenHash });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const x = publicKey.export({ format: "jwk" }).x;
    if (!x || !(await repos.nodes.registerKey(node.id, tokenHash, x))) throw new Error("registering a key failed");
    credentials.push({ nodeId: node.id, key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() });
  }
  await database.close();
  return credentials;
}

/** The Core's V8 flags for a benchmark run: the production ones unless BENCH_CORE_V8_FLAGS is set. */
export function coreV8Flags(): string[] {
  const override = process.env.BENCH_CORE_V8_FLAGS;
  return override === undefined ? [...CORE_V8_FLAGS] : override.split(/\s+/).filter(Boolean);
}

export interface CoreHost {
  child: Child;
  url: string;
  port: number;
  dataDir: string;
}

/** The Core (bench/sim/core-host.ts) in a child process with --expose-gc and a raised fd limit. */
export async function startCoreHost(options: {
  dataDir: string;
  port?: number;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<CoreHost> {
  const port = options.port ?? (await freePort());
  const child = spawnChild("bench/sim/core-host.ts", {
    // BENCH_CORE_PROFILE=<dir>: a V8 CPU profile of the Core, written when it stops.
    nodeArgs: [
      // As the Core is started in production (core/src/v8-flags.ts); BENCH_CORE_V8_FLAGS="…" replaces
      // them to compare settings.
      ...coreV8Flags(),
      "--expose-gc",
      ...(process.env.BENCH_CORE_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CORE_PROFILE}`] : []),
    ],
    nofile: WANTED_NOFILE,
    env: {
      FABRICORE_DATA_DIR: options.dataDir,
      FABRICORE_PORT: String(port),
      FABRICORE_HOST: "127.0.0.1",
      FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      FABRICORE_LOG_LEVEL: "error",
      ...options.env,
    },
  });
  await child.waitMessage((m) => m?.type === "ready", options.timeoutMs ?? 60_000);
  return { child, url: `http://127.0.0.1:${port}`, port, dataDir: options.dataDir };
}

export interface FleetStatus {
  total: number;
  connected: number;
  connects: number;
  disconnects: number;
  executions: number;
  duplicates: number;
  rss: number;
  problems: Record<string, number>;
}

export interface Fleet {
  children: Child[];
  status(): Promise<FleetStatus>;
  stop(): Promise<void>;
}

/** Splits `tokens` over `processes` simulator children and starts dialling (spread over rampMs). */
export async function startFleet(
  coreUrl: string,
  tokens: SimCredential[],
  options: { processes: number; rampMs?: number },
): Promise<Fleet> {
  const processes = Math.max(1, Math.min(options.processes, tokens.length));
  const children: Child[] = [];
  for (let p = 0; p < processes; p++) {
    children.push(spawnChild("bench/sim/fleet-sim.ts", { nofile: WANTED_NOFILE }));
  }
  await Promise.all(children.map((c) => c.waitMessage((m) => m?.type === "ready", 30_000)));
  await Promise.all(
    children.map((c, p) =>
      c.request({
        type: "start",
        coreUrl,
        credentials: tokens.filter((_, i) => i % processes === p),
        rampMs: options.rampMs ?? 0,
        prefix: `sim${p}`,
      }),
    ),
  );
  return fleetOf(children);
}

/** One Fleet over the simulator processes of several (a fleet started in steps). */
export function joinFleets(...fleets: Fleet[]): Fleet {
  return fleetOf(fleets.flatMap((f) => f.children));
}

function fleetOf(children: Child[]): Fleet {
  return {
    children,
    async status() {
      const all = await Promise.all(children.map((c) => c.request<FleetStatus>({ type: "status" }, 30_000)));
      const sum = (k: Exclude<keyof FleetStatus, "problems">) => all.reduce((acc, s) => acc + s[k], 0);
      const problems: Record<string, number> = {};
      for (const s of all) for (const [k, v] of Object.entries(s.problems)) problems[k] = (problems[k] ?? 0) + v;
      return {
        total: sum("total"),
        connected: sum("connected"),
        connects: sum("connects"),
        disconnects: sum("disconnects"),
        executions: sum("executions"),
        duplicates: sum("duplicates"),
        rss: sum("rss"),
        problems,
      };
    },
    async stop() {
      await Promise.all(children.map((c) => c.request({ type: "stop" }, 10_000).catch(() => {})));
      await Promise.all(children.map((c) => c.kill()));
    },
  };
}

/** Waits until the simulators report `count` Nodes connected (hello answered). */
export async function waitConnected(fleet: Fleet, count: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await until(
    `${count} simulated Nodes connected`,
    async () => (await fleet.status()).connected >= count,
    timeoutMs,
    200,
  );
  return Date.now() - started;
}

/** Polls GET /healthz every `everyMs` until stopped (at most `maxProbes`); records latency and failures. */
export function probeHealth(url: string, everyMs = 100, maxProbes = 20_000, timeoutMs = 2_000) {
  const latencies: number[] = [];
  const failures: string[] = [];
  let stopped = false;
  const done = (async () => {
    for (let i = 0; i < maxProbes && !stopped; i++) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        if (res.ok) latencies.push(performance.now() - t0);
        else failures.push(`HTTP ${res.status}`);
      } catch (error) {
        failures.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    latencies,
    failures,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Logs in as the admin created from FABRICORE_ADMIN_PASSWORD; returns a fetch wrapper. */
export async function adminApi(url: string) {
  const login = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
  });
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const api = async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return Object.assign(api, { token });
}

/** Creates a Node through the API (POST /api/nodes) and enrolls a fresh Ed25519 key with its token
 * (POST /api/nodes/enroll), as a real Node's first start does; returns what the simulator signs with. */
export async function enrollViaApi(
  url: string,
  api: Awaited<ReturnType<typeof adminApi>>,
  name: string,
): Promise<SimCredential & { nodeId: string }> {
  const created = await api<{ id: string; token: string }>("POST", "/api/nodes", { name });
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const res = await fetch(`${url}/api/nodes/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: created.token, publicKey: publicKey.export({ format: "jwk" }).x }),
  });
  if (!res.ok) throw new Error(`enroll failed: ${res.status} ${await res.text()}`);
  return { nodeId: created.id, key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
}
