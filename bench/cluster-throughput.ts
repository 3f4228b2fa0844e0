/**
 * Cluster throughput: runs per second through ONE Core replica vs TWO, in cluster mode both times
 * (PostgreSQL + Redis/BullMQ), with the scripted LM Studio (a system_stats call, then the answer)
 * and one real Node (dist/fabricore-node) connected to the first replica — so with two replicas,
 * about half of the tool calls cross Redis to reach it. Runs are started round-robin over the
 * replicas' APIs, as a load balancer would. Each configuration gets a fresh database and key prefix.
 *
 * `node bench/cluster-throughput.ts [runs]` prints a table and a JSON line; it needs PostgreSQL and
 * Redis (FABRICORE_TEST_POSTGRES_URL, FABRICORE_TEST_REDIS_URL: `bash scripts/start-services.sh`,
 * then `source .tmp/services.env`) and the Node binary (`make build-node`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import os, { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import pg from "pg";

const ROOT = resolve(import.meta.dirname, "..");
const NODE_BINARY = join(ROOT, "dist/fabricore-node");
const ADMIN_PASSWORD = "bench-admin-password";
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

export interface ClusterThroughputOptions {
  runs: number;
  /** Runs started at once (HTTP requests in flight). */
  concurrency?: number;
  /** FABRICORE_RUN_CONCURRENCY of each replica. */
  runConcurrency?: number;
  postgresUrl: string;
  redisUrl: string;
}

interface Measured {
  replicas: number;
  runs: number;
  seconds: number;
  runsPerSecond: number;
  succeeded: number;
  crossReplicaRuns: number;
}

export async function clusterThroughputBench(options: ClusterThroughputOptions) {
  const one = await measure(1, options);
  const two = await measure(2, options);
  const speedup = two.runsPerSecond / one.runsPerSecond;
  const rows = [
    { metric: "runs/s, 1 replica", value: one.runsPerSecond.toFixed(1) },
    { metric: "runs/s, 2 replicas", value: two.runsPerSecond.toFixed(1), baseline: one.runsPerSecond.toFixed(1) },
    { metric: "speed-up (2 ÷ 1)", value: `${speedup.toFixed(2)}×`, verdict: "info" as const },
    { metric: "runs succeeded (1 / 2 replicas)", value: `${one.succeeded}/${one.runs} · ${two.succeeded}/${two.runs}` },
    {
      metric: "runs executed by the replica not holding the Node (2 replicas)",
      value: `${two.crossReplicaRuns}/${two.runs}`,
    },
  ];
  return {
    id: "cluster-throughput",
    title: "Cluster mode: runs per second, one replica vs two",
    method:
      `${options.runs} runs (a system_stats call on one real Node, then the scripted model's answer), started ` +
      `${options.concurrency ?? 32} at a time round-robin over the replicas' APIs; each replica executes up to ` +
      `${options.runConcurrency ?? 16} at once. Cluster mode both times: one fresh PostgreSQL database and Redis ` +
      "key prefix per configuration, BullMQ queue, the Node connected to the first replica.",
    rows,
    notes: [
      "All processes (replicas, Node, PostgreSQL, Redis, model) share this one machine, so a second replica " +
        "adds CPU only while the machine has idle cores; on separate hosts the database and Redis are the shared limit.",
      "With two replicas about half of the runs reach the Node through Redis pub/sub and the other replica.",
    ],
    results: { one, two },
    measuredAt: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model ?? "?", cores: os.cpus().length },
  };
}

async function measure(replicas: number, options: ClusterThroughputOptions): Promise<Measured> {
  const database = await createDatabase(options.postgresUrl);
  const prefix = `bench-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const masterKey = randomBytes(32).toString("base64");
  const llm = await startScriptedOpenAiServer({
    script: (request: RecordedRequest) => {
      const body = request.body as { messages: Array<{ role: string }> };
      return body.messages.some((m) => m.role === "tool")
        ? turn.text("Stats collected.")
        : turn.toolCalls([{ name: "system_stats", arguments: {} }]);
    },
  });
  const children: ChildProcess[] = [];
  try {
    const cores: Array<{ url: string; pid: number }> = [];
    for (let i = 0; i < replicas; i += 1) {
      const core = await startCore({
        FABRICORE_DATABASE_URL: database.url,
        FABRICORE_REDIS_URL: options.redisUrl,
        FABRICORE_REDIS_PREFIX: prefix,
        FABRICORE_MASTER_KEY: masterKey,
        FABRICORE_RUN_CONCURRENCY: String(options.runConcurrency ?? 16),
      });
      children.push(core.child);
      cores.push({ url: core.url, pid: core.child.pid ?? 0 });
    }
    const apis = await Promise.all(cores.map((c) => login(c.url)));
    const first = apis[0]!;
    await first("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    const created = await first<{ id: string; token: string }>("POST", "/api/nodes", { name: "bench-node" });
    const node = spawn(
      NODE_BINARY,
      [
        "--core",
        cores[0]!.url,
        "--data-dir",
        mkdtempSync(join(tmpdir(), "fabricore-bench-node-")),
        "--log-level",
        "warn",
      ],
      { env: { ...process.env, FABRICORE_NODE_TOKEN: created.token }, stdio: "ignore" },
    );
    children.push(node);
    for (const api of apis) {
      await until("the Node online on every replica", async () => {
        const view = await api<{ status: string }>("GET", `/api/nodes/${created.id}`);
        return view.status === "online";
      });
    }
    const job = await first<{ id: string }>("POST", "/api/jobs", {
      name: "bench",
      prompt: "Report this server's load.",
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: [created.id],
      tools: ["system_stats"],
      maxSteps: 4,
    });
    // Warm-up (JIT, connection pools) outside the measurement.
    await runAll(apis, job.id, Math.min(20, options.runs), options.concurrency ?? 32);

    const started = performance.now();
    const ids = await runAll(apis, job.id, options.runs, options.concurrency ?? 32);
    const seconds = (performance.now() - started) / 1000;
    const finals = await Promise.all(
      ids.map((id) => first<{ status: string; owner: string | null }>("GET", `/api/runs/${id}`)),
    );
    const holder = String(cores[0]!.pid);
    return {
      replicas,
      runs: ids.length,
      seconds,
      runsPerSecond: ids.length / seconds,
      succeeded: finals.filter((r) => r.status === "succeeded").length,
      crossReplicaRuns: finals.filter((r) => r.owner?.split(":")[1] !== holder).length,
    };
  } finally {
    for (const child of children.reverse()) await stop(child);
    await llm.close();
    await database.drop();
  }
}

type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

/** Starts `count` runs round-robin over the replicas, `concurrency` requests at a time, and waits
 * until every one is final. */
async function runAll(apis: Api[], jobId: string, count: number, concurrency: number): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const api = apis[i % apis.length]!;
        const { runId } = await api<{ runId: string }>("POST", `/api/jobs/${jobId}/run`, {});
        ids.push(runId);
      }
    }),
  );
  const pending = new Set(ids);
  const api = apis[0]!;
  await until(
    `${count} runs to finish`,
    async () => {
      const page = await api<Array<{ id: string; status: string }>>("GET", `/api/runs?jobId=${jobId}&limit=500`);
      for (const run of page) if (FINAL.has(run.status)) pending.delete(run.id);
      // Older runs fall off the newest-first page; check those one by one.
      for (const id of [...pending].slice(0, 50)) {
        const run = await api<{ status: string }>("GET", `/api/runs/${id}`);
        if (FINAL.has(run.status)) pending.delete(id);
      }
      return pending.size === 0;
    },
    600_000,
    50,
  );
  return ids;
}

async function startCore(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "core/src/main.ts")], {
    env: {
      ...process.env,
      ...env,
      FABRICORE_PORT: String(port),
      FABRICORE_HOST: "127.0.0.1",
      FABRICORE_DATA_DIR: mkdtempSync(join(tmpdir(), "fabricore-bench-core-")),
      FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      FABRICORE_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await until(`the Core at ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`the Core at ${url} exited with ${child.exitCode}`);
    return (await fetch(`${url}/healthz`)).ok;
  });
  return { url, child };
}

async function login(url: string): Promise<Api> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: ADMIN_PASSWORD }),
  });
  const { token } = (await res.json()) as { token: string };
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { "content-type": "application/json" }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
    return JSON.parse(text) as T;
  };
}

async function createDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `fabricore_bench_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ""}`);
}

function freePort(): Promise<number> {
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

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

if (import.meta.main) {
  const postgresUrl = process.env.FABRICORE_TEST_POSTGRES_URL;
  const redisUrl = process.env.FABRICORE_TEST_REDIS_URL;
  if (!postgresUrl || !redisUrl || !existsSync(NODE_BINARY)) {
    console.error(
      "needs FABRICORE_TEST_POSTGRES_URL, FABRICORE_TEST_REDIS_URL (bash scripts/start-services.sh; source .tmp/services.env) and dist/fabricore-node (make build-node)",
    );
    process.exit(2);
  }
  const runs = Number(process.argv[2] ?? 300);
  const result = await clusterThroughputBench({ runs, postgresUrl, redisUrl });
  for (const row of result.rows) console.log(`${row.metric.padEnd(66)} ${row.value}`);
  console.log(JSON.stringify(result));
}
