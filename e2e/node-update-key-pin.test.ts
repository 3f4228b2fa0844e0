/**
 * Issue 18, a Node enrolled before the Core had a release key: real compiled Nodes (versions A and B)
 * against a real Core serving B over HTTPS with a certificate of the test's own (--ca), so the
 * Node's WebSocket is checked against the certificate it pinned at enrollment.
 *  - identity.json without `updateKey` (as such a Node has it): the Node pins the key from the hello
 *    answer on first sight, and then updates itself to B.
 *  - identity.json with another key pinned: the hello's key is refused and logged, the pinned one
 *    stays, and B (signed by the Core's key) is refused with bad_signature; A keeps running.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { httpsJson, makeLoopbackCert } from "@fabricore/core/testing/loopback-cert.ts";
import { CORE_V8_FLAGS } from "@fabricore/core/v8-flags.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_PASSWORD, freePort, Proc, ROOT, tempDir, waitFor } from "./support/harness.ts";
import { buildNodeVersion, sha256Of } from "./support/node-builds.ts";

const VERSION_A = "0.9.0-keypin-a";
const VERSION_B = "0.9.1-keypin-b";
const PLATFORM = `linux-${process.arch}`;

const dir = tempDir("key-pin");
const certFile = join(dir, "cert.pem");
let url = "";
let token = "";
let core: Proc;
let buildA: string;
let buildB: string;
const procs: Proc[] = [];

/** One JSON request to the HTTPS Core, trusting only the test's certificate; throws on >= 300. */
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const res = await httpsJson<any>(`${url}${path}`, certFile, method, body, token || undefined);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res.json;
}

beforeAll(async () => {
  makeLoopbackCert(dir, certFile);
  buildA = buildNodeVersion(VERSION_A, join(dir, "fabricore-node-a"));
  buildB = buildNodeVersion(VERSION_B, join(dir, "fabricore-node-b"));
  const served = join(dir, "served");
  execFileSync("mkdir", ["-p", served]);
  copyFileSync(buildB, join(served, `fabricore-node-${PLATFORM}`));
  const port = await freePort();
  url = `https://127.0.0.1:${port}`;
  core = new Proc(
    spawn(process.execPath, [...CORE_V8_FLAGS, join(ROOT, "core/src/main.ts")], {
      env: {
        ...process.env,
        FABRICORE_DATA_DIR: join(dir, "data"),
        FABRICORE_PORT: String(port),
        FABRICORE_HOST: "127.0.0.1",
        FABRICORE_ADMIN_PASSWORD: ADMIN_PASSWORD,
        FABRICORE_LOG_LEVEL: "warn",
        FABRICORE_HEARTBEAT_SECONDS: "2",
        FABRICORE_TLS_CERT: certFile,
        FABRICORE_TLS_KEY: join(dir, "key.pem"),
        FABRICORE_NODE_BINARY_DIR: served,
        FABRICORE_NODE_VERSION: VERSION_B,
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  await waitFor(
    "the HTTPS Core",
    async () => {
      if (core.exited) throw new Error(`the Core exited:\n${core.output}`);
      return api("GET", "/healthz").then(
        () => true,
        () => false,
      );
    },
    30_000,
  );
  token = (await api("POST", "/api/auth/login", { username: "admin", password: ADMIN_PASSWORD })).token;
}, 240_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await core?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Version A in a directory of its own, started against the HTTPS Core with --ca. */
function startA(nodeDir: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = new Proc(
    spawn(
      join(nodeDir, "fabricore-node"),
      ["--core", url, "--ca", certFile, "--data-dir", join(nodeDir, "data"), ...args],
      {
        env: { ...process.env, FABRICORE_LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    ),
  );
  procs.push(proc);
  return proc;
}

/** A Node of version A enrolled over HTTPS, stopped, its identity.json then rewritten by `edit`. */
async function enrolledA(name: string, edit: (identity: Record<string, unknown>) => void) {
  const created = await api("POST", "/api/nodes", { name });
  const nodeDir = join(dir, name);
  execFileSync("mkdir", ["-p", nodeDir]);
  copyFileSync(buildA, join(nodeDir, "fabricore-node"));
  const first = startA(nodeDir, [], { FABRICORE_NODE_TOKEN: created.token });
  await waitFor("A enrolled and online", async () => {
    if (first.exited) throw new Error(`the Node exited:\n${first.output}`);
    return (await api("GET", `/api/nodes/${created.id}`)).status === "online";
  });
  await first.stop();
  const file = join(nodeDir, "data/identity.json");
  const identity = JSON.parse(readFileSync(file, "utf8"));
  // Enrolled over TLS: the certificate is pinned, and today's enrollment pins the release key too.
  expect(Object.keys(identity.tlsFingerprints)).toEqual([url]);
  expect(identity.updateKey).toBe((await api("GET", "/api/nodes/update-key")).publicKey);
  edit(identity);
  writeFileSync(file, JSON.stringify(identity), { mode: 0o600 });
  return { id: created.id as string, nodeDir, file };
}

describe("a Node enrolled before the release key (issue 18)", () => {
  it("no pinned key: pins the one in the hello over the pinned-certificate WebSocket, then updates to B", async () => {
    const node = await enrolledA("keyless", (identity) => delete identity.updateKey);
    const proc = startA(node.nodeDir, ["--auto-update", "--update-deadline", "30"]);
    const record = await waitFor(
      "the Node online as B",
      async () => {
        if (proc.exited) throw new Error(`the Node exited:\n${proc.output}`);
        const r = await api("GET", `/api/nodes/${node.id}`);
        return r.status === "online" && r.version === VERSION_B ? r : undefined;
      },
      90_000,
      500,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${proc.output}`);
    });
    expect(record.updateAvailable).toBe(false);
    expect(proc.output).toContain("pinned the Core's release key on first sight");
    expect(proc.output).not.toContain("no_update_key");
    const { publicKey } = await api("GET", "/api/nodes/update-key");
    expect(JSON.parse(readFileSync(node.file, "utf8")).updateKey).toBe(publicKey);
    expect(sha256Of(join(node.nodeDir, "fabricore-node"))).toBe(sha256Of(buildB));
    await proc.stop();
  }, 180_000);

  it("another key pinned: the hello's key is refused and logged, B is refused, A keeps running", async () => {
    const other = "Q".repeat(43);
    const node = await enrolledA("other-key", (identity) => {
      identity.updateKey = other;
    });
    const proc = startA(node.nodeDir, ["--auto-update"]);
    await waitFor("the refused update", () => proc.output.includes("refusing the Node update"), 90_000, 500).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\nNode output:\n${proc.output}`);
      },
    );
    expect(proc.output).toContain("the Core sent a release key other than the pinned one");
    expect(proc.output).toContain("bad_signature");
    expect(JSON.parse(readFileSync(node.file, "utf8")).updateKey).toBe(other);
    expect(sha256Of(join(node.nodeDir, "fabricore-node"))).toBe(sha256Of(buildA));
    const record = await api("GET", `/api/nodes/${node.id}`);
    expect(record).toMatchObject({ status: "online", version: VERSION_A, updateAvailable: true });
    expect(proc.exited).toBe(false);
    await proc.stop();
  }, 180_000);
});
