/**
 * The compiled CLI against a Core serving HTTPS with a certificate of its own (FABRICORE_TLS_CERT):
 * refused with a hint while the CA is unknown, working once NODE_EXTRA_CA_CERTS names it.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { httpsJson, makeLoopbackCert } from "@fabricore/core/testing/loopback-cert.ts";
import { CORE_V8_FLAGS } from "@fabricore/core/v8-flags.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { ADMIN_PASSWORD, freePort, Proc, ROOT, tempDir, waitFor } from "./support/harness.ts";

const dir = tempDir("cli-tls");
const certFile = join(dir, "cert.pem");
let core: Proc;
let url: string;
let token: string;

/** One HTTPS request trusting only the test's certificate. */
function https(method: string, path: string, body?: unknown, bearer?: string) {
  return httpsJson<{ token?: string }>(`${url}${path}`, certFile, method, body, bearer);
}

beforeAll(async () => {
  makeLoopbackCert(dir, certFile);
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
        FABRICORE_TLS_CERT: certFile,
        FABRICORE_TLS_KEY: join(dir, "key.pem"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  await waitFor(
    "the HTTPS Core",
    async () => {
      if (core.exited) throw new Error(`the Core exited:\n${core.output}`);
      return (await https("GET", "/healthz")).status === 200;
    },
    30_000,
  );
  const login = await https("POST", "/api/auth/login", { username: "admin", password: ADMIN_PASSWORD });
  token = (await https("POST", "/api/tokens", { name: "cli-tls" }, login.json?.token)).json?.token ?? "";
}, 60_000);

afterAll(async () => {
  await core?.stop();
});

describe("fabricore over HTTPS", () => {
  it("names NODE_EXTRA_CA_CERTS when the certificate is not trusted, and works with it", async () => {
    const env = { FABRICORE_URL: url, FABRICORE_TOKEN: token };
    const untrusted = await runCli(["jobs"], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /^error: cannot reach the Core at https:.*certificate.*NODE_EXTRA_CA_CERTS=<ca.pem>\n$/,
    );
    const trusted = await runCli(["jobs", "--json"], { ...env, NODE_EXTRA_CA_CERTS: certFile });
    expect(trusted.stderr).toBe("");
    expect(JSON.parse(trusted.stdout)).toEqual([]);
  });
});
