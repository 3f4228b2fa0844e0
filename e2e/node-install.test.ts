/**
 * Issue 18, "one-line install": in a bare root (busybox: sh, wget and coreutils; or dash + curl; no
 * systemd, no Node.js) inside a network namespace of the test's own, where only loopback exists,
 * `wget|curl … /install.sh | sh -s -- --token … --no-start` against the real Core installs the real
 * compiled Node with the Core's digest and a unit that `systemd-analyze verify` accepts; started by
 * hand with the unit's own ExecStart it enrolls and comes online. Through a proxy that alters the
 * executable in flight the same line refuses the download and leaves the root untouched.
 *
 * The namespace reaches the Core (in the root namespace, on 127.0.0.1) through forwarders over Unix
 * sockets (support/forward.ts), so no address outside the test's own namespaces is involved.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { request as httpRequest, createServer as httpServer, type IncomingMessage, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Forward, forward } from "./support/forward.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  Proc,
  ROOT,
  startCore,
  tempDir,
  waitFor,
} from "./support/harness.ts";
import { InstallRoot } from "./support/install-root.ts";
import { netnsAvailability } from "./support/netns.ts";

const netns = netnsAvailability();
const hasTool = (name: string) => spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
const missing = ["busybox", "dash", "curl", "chroot", "unshare", "mknod", "ldd"].filter((t) => !hasTool(t));
const available = netns.ok && missing.length === 0;
const required = process.env.CI === "true";
const reason = netns.ok ? `missing ${missing.join(", ")} (apt-get install busybox)` : netns.reason;
if (!available && !required) console.warn(`skipping node-install: ${reason}`);

const NS = `fc-inst-${process.pid}`;
/** The tampering proxy's port inside the namespace. */
const TAMPER_PORT = 18_181;

const sha256File = (path: string) =>
  new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (c) => hash.update(c))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });

/** An HTTP proxy to the Core that flips one byte of every Node executable it passes on, as a
 * compromised mirror or cache would; everything else (install.sh included) passes unchanged. */
function tamperingProxy(core: CoreHandle, socketPath: string): Promise<Server> {
  const server = httpServer((req, res) => {
    const headers = { ...req.headers };
    // Plain bytes, so the flipped byte reaches the digest check (not a gzip decoding error).
    delete headers["accept-encoding"];
    const upstream = httpRequest(
      { host: "127.0.0.1", port: core.port, method: req.method, path: req.url, headers },
      (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          const body = Buffer.concat(chunks);
          if (req.url?.startsWith("/api/nodes/binary/") && body.length > 4096) body[4096] = (body[4096] ?? 0) ^ 0x01;
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}

/** The unit's ExecStart and the token file, as systemd would combine them. */
function handStart(root: InstallRoot): string {
  return `set -a; . /etc/fabricore/node.env; set +a; exec ${root.execStart()}`;
}

describe.skipIf(!available && !required)("install.sh in a bare root (issue 18)", () => {
  let core: CoreHandle;
  let api: ApiClient;
  let nodeBinary: string;
  const servers: Array<{ close(callback: () => void): unknown }> = [];
  const roots: InstallRoot[] = [];
  const procs: Proc[] = [];
  let forwarder: Proc | undefined;
  let sockets: string | undefined;

  beforeAll(async () => {
    if (!available) throw new Error(`CI=true and ${reason}`);
    nodeBinary = ensureNodeBinary();
    core = await startCore();
    api = await new ApiClient(core.url).login();
    execFileSync("ip", ["netns", "add", NS]);
    execFileSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
    sockets = tempDir("install-sock");
    const coreSock = join(sockets, "core.sock");
    const tamperSock = join(sockets, "tamper.sock");
    servers.push(await forward({ listen: { path: coreSock }, to: { host: "127.0.0.1", port: core.port } }));
    servers.push(await tamperingProxy(core, tamperSock));
    // Inside: the Core's own port number on the namespace's loopback, so the URL the script is
    // fetched from (and writes into the unit) is the same as the Core's.
    const inner: Forward[] = [
      { listen: { host: "127.0.0.1", port: core.port }, to: { path: coreSock } },
      { listen: { host: "127.0.0.1", port: TAMPER_PORT }, to: { path: tamperSock } },
    ];
    forwarder = new Proc(
      spawn(
        "ip",
        ["netns", "exec", NS, process.execPath, join(ROOT, "e2e/support/forward.ts"), JSON.stringify(inner)],
        {
          stdio: ["ignore", "pipe", "pipe"],
        },
      ),
    );
    await waitFor("the forwarder in the namespace", () => forwarder!.output.includes("ready") || forwarder!.exited);
    if (forwarder.exited) throw new Error(`the forwarder exited:\n${forwarder.output}`);
  }, 90_000);

  afterAll(async () => {
    for (const p of procs) await p.stop();
    await forwarder?.stop();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    await core?.proc.stop();
    spawnSync("ip", ["netns", "del", NS]);
    for (const root of roots) root.destroy();
    if (sockets) rmSync(sockets, { recursive: true, force: true });
  });

  it("busybox sh + wget: installs the Core's Node with its digest; started by hand from the unit it comes online", async () => {
    const root = new InstallRoot("busybox").build(nodeBinary);
    roots.push(root);
    const enrolled = await api.ok("POST", "/api/nodes", { name: "installed-busybox", labels: { via: "install-sh" } });
    const url = `http://127.0.0.1:${core.port}`;
    const res = await root.run(NS, `wget -q -O - ${url}/install.sh | sh -s -- --token ${enrolled.token} --no-start`);
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).toContain("systemd is not running here");

    const head = await fetch(`${core.url}/api/nodes/binary/linux-x64`, { method: "HEAD" });
    const served = head.headers.get("x-fabricore-sha256");
    const installed = root.path("usr/local/bin/fabricore-node");
    expect(await sha256File(installed)).toBe(served);
    expect(served).toBe(await sha256File(nodeBinary));
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    expect(statSync(root.path("etc/fabricore/node.env")).mode & 0o777).toBe(0o600);

    // The unit's ExecStart with the token file, by hand (no systemd here), in the same bare root.
    const [command, args] = root.command(NS, handStart(root));
    const node = new Proc(spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] }) as ChildProcess);
    procs.push(node);
    const online = await api.waitNodeOnline(enrolled.id, 30_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    expect(online.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(online.tools.map((t: { name: string }) => t.name)).toContain("system_stats");
    await node.stop();

    const analysis = root.analyzeUnit();
    expect(analysis.verify.status, `${analysis.verify.stdout}${analysis.verify.stderr}`).toBe(0);
    expect(analysis.verify.stderr.trim(), "systemd-analyze verify has no complaints").toBe("");
    const { exposure } = analysis;
    console.log(
      `systemd-analyze security: ${exposure ? `${exposure.score} ${exposure.label}` : analysis.securityOutput}`,
    );
    if (exposure) expect(exposure.score).toBeLessThan(4);
  }, 180_000);

  it("busybox sh + wget --auto-update: the executable in the state directory behind the symlink; the unit verifies and scores as well", async () => {
    const root = new InstallRoot("busybox").build(nodeBinary);
    roots.push(root);
    const enrolled = await api.ok("POST", "/api/nodes", { name: "installed-auto-update" });
    const url = `http://127.0.0.1:${core.port}`;
    const res = await root.run(
      NS,
      `wget -q -O - ${url}/install.sh | sh -s -- --token ${enrolled.token} --auto-update --no-start`,
    );
    expect(res.status, res.stderr).toBe(0);
    const link = root.path("usr/local/bin/fabricore-node");
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe("/var/lib/fabricore-node/bin/fabricore-node");
    expect(await sha256File(root.path("var/lib/fabricore-node/bin/fabricore-node"))).toBe(await sha256File(nodeBinary));
    expect(root.execStart()).toBe(
      `/usr/local/bin/fabricore-node --core ${url} --data-dir /var/lib/fabricore-node --auto-update`,
    );
    const analysis = root.analyzeUnit();
    expect(analysis.verify.status, `${analysis.verify.stdout}${analysis.verify.stderr}`).toBe(0);
    expect(analysis.verify.stderr.trim(), "systemd-analyze verify has no complaints").toBe("");
    const { exposure } = analysis;
    console.log(
      `systemd-analyze security (--auto-update): ${exposure ? `${exposure.score} ${exposure.label}` : analysis.securityOutput}`,
    );
    if (exposure) expect(exposure.score).toBeLessThan(4);
    // Started by hand from the unit through the symlink: it runs and enrolls.
    const node = new Proc(
      spawn(...root.command(NS, handStart(root)), { stdio: ["ignore", "pipe", "pipe"] }) as ChildProcess,
    );
    procs.push(node);
    await api.waitNodeOnline(enrolled.id, 30_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\nNode output:\n${node.output}`);
    });
    await node.stop();
  }, 180_000);

  it("dash + curl through a proxy that alters the executable: refused, nothing installed", async () => {
    const root = new InstallRoot("dash-curl").build(nodeBinary);
    roots.push(root);
    const enrolled = await api.ok("POST", "/api/nodes", { name: "installed-tampered" });
    const url = `http://127.0.0.1:${TAMPER_PORT}`;
    const res = await root.run(NS, `curl -fsSL ${url}/install.sh | sh -s -- --token ${enrolled.token} --no-start`);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/the download's SHA-256 is [0-9a-f]{64}, the Core says [0-9a-f]{64}: refusing it/);
    expect(res.stderr).toContain("nothing was installed");
    for (const path of ["usr/local/bin/fabricore-node", "etc/fabricore", "etc/systemd"]) {
      expect(existsSync(root.path(path)), path).toBe(false);
    }
    expect(execFileSync("find", [root.path("usr/local/bin"), root.path("tmp"), "-mindepth", "1"]).toString()).toBe("");
  }, 180_000);

  it("dash + curl: takes the gzip copy once the Core has made it, checks the digest after decoding, and re-running upgrades nothing", async () => {
    const root = new InstallRoot("dash-curl").build(nodeBinary);
    roots.push(root);
    const enrolled = await api.ok("POST", "/api/nodes", { name: "installed-dash" });
    // The Core compresses each build once, in the background, after the first request asking for it.
    const gzipSize = await waitFor(
      "the Core's gzip copy of the Node",
      () =>
        new Promise<number | undefined>((resolve, reject) => {
          const req = httpRequest(
            {
              host: "127.0.0.1",
              port: core.port,
              path: "/api/nodes/binary/linux-x64",
              headers: { "accept-encoding": "gzip" },
            },
            (answer) => {
              if (answer.headers["content-encoding"] !== "gzip") {
                answer.destroy();
                return resolve(undefined);
              }
              let size = 0;
              answer.on("data", (c: Buffer) => (size += c.length));
              answer.on("end", () => resolve(size));
            },
          );
          req.on("error", reject);
          req.end();
        }),
      150_000,
      1_000,
    );
    const plainSize = statSync(nodeBinary).size;
    console.log(
      `Node download: ${(plainSize / 2 ** 20).toFixed(1)} MiB plain, ${(gzipSize / 2 ** 20).toFixed(1)} MiB gzip (${((100 * gzipSize) / plainSize).toFixed(0)}%)`,
    );
    expect(gzipSize).toBeLessThan(plainSize * 0.7);

    const url = `http://127.0.0.1:${core.port}`;
    const line = `curl -fsSL ${url}/install.sh | sh -s -- --token ${enrolled.token} --read-root /tmp --allow-exec --no-start`;
    const first = await root.run(NS, line);
    expect(first.status, first.stderr).toBe(0);
    expect(await sha256File(root.path("usr/local/bin/fabricore-node"))).toBe(await sha256File(nodeBinary));
    const unit = readFileSync(root.path("etc/systemd/system/fabricore-node.service"), "utf8");
    expect(unit).toContain(`--core ${url} --data-dir /var/lib/fabricore-node --read-root /tmp --allow-exec\n`);
    expect(unit).toContain("ReadOnlyPaths=/tmp\n");

    const again = await root.run(NS, line);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("is already version");
    expect(readFileSync(root.path("etc/systemd/system/fabricore-node.service"), "utf8")).toBe(unit);
  }, 240_000);
});
