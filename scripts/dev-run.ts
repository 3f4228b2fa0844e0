/**
 * `make run`: the Core on the embedded default (SQLite in ./data) plus one local Node enrolled to
 * it through the API, so a new user sees a working fleet of one at http://127.0.0.1:8080.
 *
 * First start: a random admin password is generated, printed once, and the local Node's token is
 * kept in data/local-node.json (mode 0600) so later starts reconnect the same Node.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { CORE_V8_FLAGS } from "../core/src/v8-flags.ts";

const root = resolve(import.meta.dirname, "..");
const dataDir = resolve(process.env.FABRICORE_DATA_DIR ?? join(root, "data"));
const host = process.env.FABRICORE_HOST ?? "127.0.0.1";
const port = process.env.FABRICORE_PORT ?? "8080";
const base = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
const stateFile = join(dataDir, "local-node.json");
mkdirSync(dataDir, { recursive: true });

interface LocalState {
  nodeToken: string;
}
const state: LocalState | undefined = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, "utf8")) : undefined;
const firstStart = !existsSync(join(dataDir, "fabricore.db")) && !process.env.FABRICORE_DATABASE_URL;
const adminPassword =
  process.env.FABRICORE_ADMIN_PASSWORD ?? (firstStart ? randomBytes(12).toString("base64url") : undefined);

const children: ChildProcess[] = [];
function stopAll(code: number): never {
  for (const child of children) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 1500).unref();
  process.exit(code);
}
process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

const core = spawn(process.execPath, [...CORE_V8_FLAGS, join(root, "core/src/main.ts")], {
  stdio: "inherit",
  env: {
    ...process.env,
    FABRICORE_DATA_DIR: dataDir,
    ...(adminPassword ? { FABRICORE_ADMIN_PASSWORD: adminPassword } : {}),
  },
});
children.push(core);
core.on("exit", (code) => {
  console.error(`the Core exited (${code ?? "signal"})`);
  stopAll(code ?? 1);
});

async function waitHealthy(): Promise<void> {
  for (let i = 0; i < 120; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the Core did not answer at ${base}/healthz within 30 s`);
}

async function api(token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function enroll(): Promise<string> {
  if (state?.nodeToken) return state.nodeToken;
  if (!adminPassword) {
    throw new Error(
      "data/ has a database but no local-node.json: set FABRICORE_ADMIN_PASSWORD to the admin password so make run can enroll the local Node",
    );
  }
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: adminPassword }),
  });
  if (!login.ok) throw new Error(`admin login failed (${login.status}); is FABRICORE_ADMIN_PASSWORD right?`);
  const { token } = (await login.json()) as { token: string };
  const providers = (await api(token, "GET", "/api/providers")) as unknown as Array<{ name: string }>;
  if (!providers.some((p) => p.name === "LM Studio")) {
    await api(token, "POST", "/api/providers", {
      name: "LM Studio",
      kind: "lmstudio",
      baseUrl: "http://localhost:1234/v1",
    });
  }
  const name = (hostname().replace(/[^a-zA-Z0-9_.-]/g, "-") || "local").slice(0, 60);
  const node = await api(token, "POST", "/api/nodes", { name, labels: { role: "local" } });
  const nodeToken = String(node.token);
  writeFileSync(stateFile, JSON.stringify({ nodeToken } satisfies LocalState), { mode: 0o600 });
  return nodeToken;
}

await waitHealthy();
const nodeToken = await enroll();
// Not the repository (its data/ holds the master key and the database): a workspace folder of
// its own, plus the system logs, is what the local Node may read and mount.
const workspace = join(dataDir, "workspace");
mkdirSync(workspace, { recursive: true });
const readRoots = [workspace, "/var/log"].filter((p) => existsSync(p));
const node = spawn(
  join(root, "dist/fabricore-node"),
  [
    "--core",
    base,
    ...readRoots.flatMap((r) => ["--read-root", r]),
    // MCP containers (the filesystem preset from the UI's marketplace) may mount what read_file may
    // read, read-only; without a mount root the Node refuses every mount.
    ...readRoots.flatMap((r) => ["--mount-root", r]),
    "--data-dir",
    join(dataDir, "node"),
  ],
  { stdio: "inherit", env: { ...process.env, FABRICORE_NODE_TOKEN: nodeToken } },
);
children.push(node);
node.on("exit", (code) => console.error(`the local Node exited (${code ?? "signal"})`));

console.log(`\n  FabriCore is running at ${base}`);
if (firstStart && adminPassword && !process.env.FABRICORE_ADMIN_PASSWORD) {
  console.log(`  Log in as admin with password: ${adminPassword}   (shown once)`);
}
console.log(
  `  One local Node is enrolled (read roots and read-only MCP mount roots: ${readRoots.join(", ")}); provider "LM Studio" points at http://localhost:1234/v1\n`,
);
