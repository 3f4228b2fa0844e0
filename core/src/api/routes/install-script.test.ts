import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/**
 * GET /install.sh, and the script itself run for real by dash (with curl) and by busybox ash (with
 * busybox wget, nothing else on PATH) against this Core listening on loopback, installing below
 * `--root` (the e2e test installs into a real root, in a chroot, and starts the Node).
 */

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const which = (name: string) =>
  spawnSync("sh", ["-c", `command -v ${name}`])
    .stdout.toString()
    .trim();
const BUSYBOX = which("busybox");
const DASH = which("dash");

let t: TestCore;
let binDir: string;
let coreUrl: string;
const executable = randomBytes(200 * 1024);

beforeAll(async () => {
  binDir = mkdtempSync(join(tmpdir(), "fabricore-install-bin-"));
  writeFileSync(join(binDir, "fabricore-node-linux-x64"), executable);
  writeFileSync(join(binDir, "fabricore-node-linux-arm64"), executable);
  t = await startTestCore({ env: { FABRICORE_NODE_BINARY_DIR: binDir } });
  await t.core.app.listen({ host: "127.0.0.1", port: 0 });
  coreUrl = `http://127.0.0.1:${(t.core.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  rmSync(binDir, { recursive: true, force: true });
  for (const dir of busyboxDirs) rmSync(dir, { recursive: true, force: true });
});

async function script(headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${coreUrl}/install.sh`, { headers });
  expect(res.status).toBe(200);
  return res.text();
}

/** Runs `curl|wget … /install.sh | <shell> -s -- args` with PATH limited to `path`. Asynchronous:
 * the Core answering the download runs in this process. */
function install(
  shell: "dash" | "busybox",
  args: string[],
  path: string,
): Promise<{ status: number | null; stderr: string }> {
  const fetcher = shell === "dash" ? `curl -fsSL ${coreUrl}/install.sh` : `wget -q -O - ${coreUrl}/install.sh`;
  const sh = shell === "dash" ? [DASH] : [BUSYBOX, "sh"];
  const quoted = args.map((a) => `'${a}'`).join(" ");
  const child = spawn(sh[0]!, [...sh.slice(1), "-c", `${fetcher} | ${sh.join(" ")} -s -- ${quoted}`], {
    env: { PATH: path, TMPDIR: tmpdir() },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (status) => resolve({ status, stderr })));
}

/** A directory holding only busybox's applets: sh, wget and the coreutils the script uses. */
const busyboxDirs: string[] = [];
function busyboxPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "fabricore-busybox-"));
  busyboxDirs.push(dir);
  for (const applet of [
    "sh",
    "wget",
    "sha256sum",
    "mkdir",
    "cp",
    "mv",
    "chmod",
    "rm",
    "rmdir",
    "cat",
    "uname",
    "id",
    "ls",
    "chown",
    "ln",
  ])
    symlinkSync(BUSYBOX, join(dir, applet));
  return dir;
}

describe("GET /install.sh", () => {
  it("is public POSIX sh with this Core's URL and each platform's digest; dash and busybox ash parse it", async () => {
    const res = await t.api(undefined, "GET", "/install.sh");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const text = await script();
    expect(text.startsWith("#!/bin/sh\n")).toBe(true);
    expect(text).toContain(`CORE_URL='${coreUrl}'`);
    expect(text).toContain(`SHA256_LINUX_X64='${sha256(executable)}'`);
    expect(text).toContain(`SHA256_LINUX_ARM64='${sha256(executable)}'`);
    expect(text).toContain("CORE_INSECURE='0'");
    expect(text).not.toMatch(/@[A-Z0-9_]+@/);
    const file = join(binDir, "install.sh");
    writeFileSync(file, text);
    expect(DASH, "dash is installed").not.toBe("");
    expect(BUSYBOX, "busybox is installed (apt-get install busybox)").not.toBe("");
    execFileSync(DASH, ["-n", file]);
    execFileSync(BUSYBOX, ["sh", "-n", file]);
    // shellcheck as POSIX sh (not bash): every warning is a finding. Required under CI (.ci/run
    // installs it); elsewhere a missing shellcheck is said, not hidden.
    const shellcheck = which("shellcheck");
    if (shellcheck || process.env.CI === "true") {
      const lint = spawnSync(shellcheck || "shellcheck", ["-s", "sh", "-S", "info", file], { encoding: "utf8" });
      expect(lint.status, lint.stdout).toBe(0);
    } else console.warn("shellcheck is not installed: install.sh not linted");
  });

  it("carries FABRICORE_PUBLIC_URL when set, and --insecure for plain http off this host", async () => {
    const other = await startTestCore({
      env: { FABRICORE_NODE_BINARY_DIR: binDir, FABRICORE_PUBLIC_URL: "http://core.example.net:8080/" },
    });
    try {
      const res = await other.core.app.inject({ url: "/install.sh", headers: { host: "elsewhere:1" } });
      expect(res.body).toContain("CORE_URL='http://core.example.net:8080'");
      expect(res.body).toContain("CORE_INSECURE='1'");
    } finally {
      await other.close();
    }
  });

  it("refuses a Host that cannot be written into a script", async () => {
    const res = await t.core.app.inject({ url: "/install.sh", headers: { host: "a'b;rm -rf /" } });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).error.code).toBe("bad_request");
  });
});

describe("install.sh run for real (below --root)", () => {
  for (const shell of ["dash", "busybox"] as const) {
    it(`${shell}: installs the executable with its digest, the token file and a hardened unit; again is a no-op; --uninstall removes`, async () => {
      const root = mkdtempSync(join(tmpdir(), `fabricore-root-${shell}-`));
      mkdirSync(join(root, "srv/logs"), { recursive: true });
      const path = shell === "dash" ? process.env.PATH! : busyboxPath();
      const args = [
        "--root",
        root,
        "--token",
        "fcn_abc-DEF_123",
        "--read-root",
        "/srv/logs",
        "--allow-exec",
        "--no-start",
      ];
      const first = await install(shell, args, path);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stderr).toContain("downloading the Node");
      const bin = join(root, "usr/local/bin/fabricore-node");
      expect(sha256(readFileSync(bin))).toBe(sha256(executable));
      expect(statSync(bin).mode & 0o777).toBe(0o755);
      const env = join(root, "etc/fabricore/node.env");
      expect(readFileSync(env, "utf8")).toBe("FABRICORE_NODE_TOKEN=fcn_abc-DEF_123\n");
      expect(statSync(env).mode & 0o777).toBe(0o600);
      const unit = readFileSync(join(root, "etc/systemd/system/fabricore-node.service"), "utf8");
      expect(unit).toContain(
        `ExecStart=/usr/local/bin/fabricore-node --core ${coreUrl} --data-dir /var/lib/fabricore-node --read-root /srv/logs --allow-exec\n`,
      );
      for (const line of [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "ReadWritePaths=/var/lib/fabricore-node",
        "ReadOnlyPaths=/srv/logs",
        "EnvironmentFile=-/etc/fabricore/node.env",
        "RestrictNamespaces=yes",
      ])
        expect(unit).toContain(`${line}\n`);
      expect(unit).not.toContain("docker");
      expect(unit).not.toContain("fcn_");

      const again = await install(shell, ["--root", root, "--no-start"], path);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stderr).toContain("already version");
      expect(readFileSync(env, "utf8")).toContain("fcn_abc-DEF_123");

      const docker = await install(shell, ["--root", root, "--docker", "--no-start"], path);
      expect(docker.status, docker.stderr).toBe(0);
      const withDocker = readFileSync(join(root, "etc/systemd/system/fabricore-node.service"), "utf8");
      expect(withDocker).toContain("SupplementaryGroups=docker\n");
      expect(withDocker).not.toContain("RestrictNamespaces");

      const removed = await install(shell, ["--root", root, "--uninstall"], path);
      expect(removed.status, removed.stderr).toBe(0);
      expect(existsSync(bin)).toBe(false);
      expect(existsSync(env)).toBe(false);
      expect(existsSync(join(root, "etc/systemd/system/fabricore-node.service"))).toBe(false);
      rmSync(root, { recursive: true, force: true });
    });
  }

  for (const shell of ["dash", "busybox"] as const) {
    it(`${shell} --auto-update: the executable in the state directory behind a symlink; switching back and --uninstall remove it`, async () => {
      const root = mkdtempSync(join(tmpdir(), `fabricore-root-auto-${shell}-`));
      const path = shell === "dash" ? process.env.PATH! : busyboxPath();
      const unitFile = join(root, "etc/systemd/system/fabricore-node.service");
      const link = join(root, "usr/local/bin/fabricore-node");
      const selfBin = join(root, "var/lib/fabricore-node/bin/fabricore-node");
      try {
        // A plain install first: --auto-update later turns it into the self-updating layout.
        const plain = await install(shell, ["--root", root, "--token", "fcn_auto", "--no-start"], path);
        expect(plain.status, plain.stderr).toBe(0);
        expect(lstatSync(link).isFile()).toBe(true);

        const first = await install(shell, ["--root", root, "--auto-update", "--no-start"], path);
        expect(first.status, first.stderr).toBe(0);
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        // As the installed system sees it (not below --root).
        expect(readlinkSync(link)).toBe("/var/lib/fabricore-node/bin/fabricore-node");
        expect(sha256(readFileSync(selfBin))).toBe(sha256(executable));
        expect(statSync(selfBin).mode & 0o777).toBe(0o755);
        expect(statSync(join(root, "var/lib/fabricore-node")).mode & 0o777).toBe(0o700);
        const unit = readFileSync(unitFile, "utf8");
        expect(unit).toContain(
          `ExecStart=/usr/local/bin/fabricore-node --core ${coreUrl} --data-dir /var/lib/fabricore-node --auto-update\n`,
        );
        // No more writable paths than without it: the executable is inside the state directory.
        expect(unit.match(/^ReadWritePaths=.*$/gm)).toEqual(["ReadWritePaths=/var/lib/fabricore-node"]);
        expect(unit).toContain("ProtectSystem=strict\n");

        // The service's user owns its directory (systemd chowns it at start): a re-install's file
        // goes to that user too, so the Node can keep it as a hard link when it updates.
        const uid = 4242;
        for (const p of [
          "var/lib/fabricore-node",
          "var/lib/fabricore-node/bin",
          "var/lib/fabricore-node/bin/fabricore-node",
        ])
          chownSync(join(root, p), uid, uid);
        writeFileSync(selfBin, "an older Node");
        const again = await install(shell, ["--root", root, "--auto-update", "--no-start"], path);
        expect(again.status, again.stderr).toBe(0);
        expect(again.stderr).toContain("downloading the Node");
        expect(sha256(readFileSync(selfBin))).toBe(sha256(executable));
        expect(statSync(selfBin).uid).toBe(uid);
        const noop = await install(shell, ["--root", root, "--auto-update", "--no-start"], path);
        expect(noop.stderr).toContain("already version");

        // Without the flag again: a plain file at /usr/local/bin, the self-updating copies gone.
        writeFileSync(join(root, "var/lib/fabricore-node/bin/fabricore-node.previous"), "old");
        const back = await install(shell, ["--root", root, "--no-start"], path);
        expect(back.status, back.stderr).toBe(0);
        expect(lstatSync(link).isFile()).toBe(true);
        expect(sha256(readFileSync(link))).toBe(sha256(executable));
        expect(existsSync(join(root, "var/lib/fabricore-node/bin"))).toBe(false);
        expect(readFileSync(unitFile, "utf8")).not.toContain("--auto-update");

        const auto = await install(shell, ["--root", root, "--auto-update", "--no-start"], path);
        expect(auto.status, auto.stderr).toBe(0);
        writeFileSync(join(root, "var/lib/fabricore-node/update.json"), "{}");
        writeFileSync(join(root, "var/lib/fabricore-node/node-key.pem"), "key");
        const removed = await install(shell, ["--root", root, "--uninstall"], path);
        expect(removed.status, removed.stderr).toBe(0);
        for (const gone of [
          link,
          join(root, "var/lib/fabricore-node/bin"),
          join(root, "var/lib/fabricore-node/update.json"),
          unitFile,
        ])
          expect(existsSync(gone), gone).toBe(false);
        expect(existsSync(join(root, "var/lib/fabricore-node/node-key.pem")), "the key stays without --purge").toBe(
          true,
        );
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it("refuses a download whose digest differs (a tampered mirror) and installs nothing", async () => {
    const tampered = Buffer.from(executable);
    tampered[1000] = (tampered[1000] ?? 0) ^ 0xff;
    const mirror: Server = createServer((_req, res) => res.end(tampered));
    await new Promise<void>((r) => mirror.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/fabricore-node`;
    const root = mkdtempSync(join(tmpdir(), "fabricore-root-tampered-"));
    try {
      for (const shell of ["dash", "busybox"] as const) {
        const path = shell === "dash" ? process.env.PATH! : busyboxPath();
        const res = await install(shell, ["--root", root, "--token", "fcn_x", "--binary-url", url], path);
        expect(res.status).toBe(1);
        expect(res.stderr).toContain(`the Core says ${sha256(executable)}: refusing it; nothing was installed`);
        expect(execFileSync("find", [root, "-mindepth", "1"]).toString()).toBe("");
      }
    } finally {
      mirror.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses bad options before writing anything", async () => {
    const root = mkdtempSync(join(tmpdir(), "fabricore-root-bad-"));
    for (const [args, message] of [
      [["--token", "nope"], "starts with fcn_"],
      [["--token", "fcn_x", "--read-root", "relative"], "must be an absolute directory"],
      [["--token", "fcn_x", "--read-root", "/does/not/exist"], "not an existing directory"],
      [["--token", "fcn_x", "--labels", "env=prod"], "labels belong to the Node's record on the Core"],
      [["--no-start"], "--token fcn_... is needed at the first install"],
      [["--bogus"], "unknown option: --bogus"],
    ] as const) {
      const res = await install("dash", ["--root", root, ...args], process.env.PATH!);
      expect(res.status, args.join(" ")).toBe(1);
      expect(res.stderr).toContain(message);
    }
    expect(execFileSync("find", [root, "-mindepth", "1"]).toString()).toBe("");
    rmSync(root, { recursive: true, force: true });
  });
});
