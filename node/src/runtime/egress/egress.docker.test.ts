/**
 * Issue 17 with real parts: a managed container (Docker, NetworkMode none) whose only way out is its
 * Node's egress proxy, and target servers in a network namespace this test makes (198.18.0.0/15, the
 * benchmarking range, and a 10.x address — both exist only on the test's veth pair; nothing leaves
 * the machine). Names resolve through the proxy's lookup, which the test controls, so a DNS answer
 * that points an allowed name at 10.x or 127.x can be played.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ManagedMcpSpec, McpServerStatus } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages, HOSTILE_IMAGE } from "../../../../e2e/images/test-images.ts";
import { silentLogger } from "../../logger.ts";
import { createMcpManager } from "../../mcp/index.ts";
import type { McpManager } from "../../mcp/mcp-manager.ts";
import { assertDocker, onCi, probeDocker, shouldRunDockerSuite } from "../testing/docker-suite.ts";

const probe = await probeDocker();
const isRoot = process.getuid?.() === 0;
const run = shouldRunDockerSuite(probe, "egress proxy with Docker") && (isRoot || onCi);
if (!isRoot && !onCi) console.warn("[egress proxy with Docker] skipped: network namespaces need root");

const tag = String(process.pid % 100000);
const ns = `fc-egress-${tag}`;
const hostIf = `fceg${tag}h`.slice(0, 15);
const nsIf = `fceg${tag}n`.slice(0, 15);
const PUBLIC = "198.18.77.2";
const PRIVATE = "10.231.77.2";
const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

/** What the test's "DNS" answers; every other name does not resolve. */
const answers: Record<string, string> = {
  "allowed.test": PUBLIC,
  "plain.test": PUBLIC,
  "denied.test": PUBLIC,
  "evil.rebind.test": PRIVATE,
  "loop.rebind.test": "127.0.0.1",
};

const SERVER = `
const https = require("node:https"), http = require("node:http"), fs = require("node:fs");
const opts = { key: fs.readFileSync(process.argv[2] + "/key.pem"), cert: fs.readFileSync(process.argv[2] + "/cert.pem") };
const reply = (req, res) => res.end("hello from the namespace, host " + req.headers.host);
https.createServer(opts, reply).listen(8443, "0.0.0.0");
http.createServer(reply).listen(8080, "0.0.0.0", () => console.log("ready"));
`;

describe.skipIf(!run)("egress allow lists: a container reaches only what its list names", () => {
  let dir = "";
  let server: ChildProcess | undefined;
  let manager: McpManager;
  const events: string[] = [];

  const spec: ManagedMcpSpec = {
    kind: "managed",
    name: `egress-${randomUUID().slice(0, 6)}`,
    image: HOSTILE_IMAGE,
    args: [],
    // The test's server certificate is self-signed.
    env: { NODE_TLS_REJECT_UNAUTHORIZED: "0" },
    mounts: [],
    network: { allow: ["allowed.test:8443", "plain.test:8080", "*.rebind.test:8443", `${PRIVATE}:8443`] },
    limits: {},
  };

  beforeAll(async () => {
    assertDocker(probe);
    await ensureTestImages();
    dir = mkdtempSync(join(tmpdir(), "fabricore-egress-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=allowed.test",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "pipe" },
    );
    writeFileSync(join(dir, "server.cjs"), SERVER);
    ip("netns", "add", ns);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", ns);
    ip("addr", "add", "198.18.77.1/30", "dev", hostIf);
    ip("addr", "add", "10.231.77.1/30", "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("-n", ns, "addr", "add", `${PUBLIC}/30`, "dev", nsIf);
    ip("-n", ns, "addr", "add", `${PRIVATE}/30`, "dev", nsIf);
    ip("-n", ns, "link", "set", nsIf, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    server = spawn("ip", ["netns", "exec", ns, process.execPath, join(dir, "server.cjs"), dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => server!.stdout!.once("data", () => resolve()));
    manager = createMcpManager({
      docker: probe.docker,
      nodeId: `egress-${tag}`,
      dataDir: dir,
      logger: {
        ...silentLogger,
        info: (fields: Record<string, unknown>, message?: string) => events.push(`${message}: ${fields.target}`),
        warn: (fields: Record<string, unknown>, message?: string) => events.push(`${message}: ${fields.target}`),
      } as typeof silentLogger,
      egressLookup: async (host) => {
        const address = answers[host];
        if (!address) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
        return [{ address, family: 4 }];
      },
    });
  }, 120_000);

  afterAll(async () => {
    await manager?.close({ removeContainers: true });
    server?.kill();
    try {
      ip("link", "del", hostIf);
    } catch {}
    try {
      ip("netns", "del", ns);
    } catch {}
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const call = async (tool: string, args: Record<string, unknown>) => {
    const result = await manager.callTool(spec.name, tool, args, {
      signal: new AbortController().signal,
      deadlineMs: 30_000,
    });
    const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? "").join("");
    return JSON.parse(text) as Record<string, any>;
  };

  it("lets through the listed hosts (CONNECT and plain HTTP) and refuses the rest, DNS rebinding included", async () => {
    const [status] = await manager.sync([spec]);
    expect(status, JSON.stringify(status)).toMatchObject({ state: "running" });
    const urls = {
      allowed: "https://allowed.test:8443/hi",
      plain: "http://plain.test:8080/hi",
      byIp: `https://${PRIVATE}:8443/hi`,
      denied: "https://denied.test:8443/",
      wrongPort: "https://allowed.test:8080/",
      rebindPrivate: "https://evil.rebind.test:8443/",
      rebindLoopback: "https://loop.rebind.test:8443/",
      metadata: "http://169.254.169.254/latest/meta-data/",
      privateUnlisted: `http://${PRIVATE}:8080/`,
    };
    const outcome = await call("fetch_urls", { urls: Object.values(urls) });
    expect(outcome[urls.allowed]).toEqual({ status: 200, body: "hello from the namespace, host allowed.test:8443" });
    expect(outcome[urls.plain]).toEqual({ status: 200, body: "hello from the namespace, host plain.test:8080" });
    expect(outcome[urls.byIp]).toMatchObject({ status: 200 });
    // Node's fetch tunnels http:// URLs through CONNECT too (absolute-URI forwarding: egress-proxy.test.ts).
    for (const key of [
      "denied",
      "wrongPort",
      "rebindPrivate",
      "rebindLoopback",
      "metadata",
      "privateUnlisted",
    ] as const) {
      // A refused CONNECT: undici reports the proxy's 403 as a cancelled request (at once, not a timeout).
      expect(outcome[urls[key]], key).toEqual({
        error: expect.stringMatching(/403|tunnel|proxy|Request was cancelled/i),
      });
    }

    // Around the proxy there is nothing: no route to the namespace, not even to the listed address.
    const direct = await call("reach_network", { targets: [`${PUBLIC}:8443`, "169.254.169.254:80"] });
    for (const target of Object.keys(direct)) expect(["ENETUNREACH", "EHOSTUNREACH"], target).toContain(direct[target]);

    // Counted in the server's status and logged, with the reason of the last refusal.
    const [after] = (await manager.sync([spec])) as McpServerStatus[];
    expect(after?.egress).toMatchObject({ allowed: 3, refused: 6 });
    expect(events).toContain("egress allowed: allowed.test:8443");
    expect(events).toContain("egress refused: evil.rebind.test:8443");
    expect(events).toContain("egress refused: loop.rebind.test:8443");
    expect(events).toContain("egress refused: 169.254.169.254:80");
  }, 60_000);
});
