/**
 * A bare root file system for the installer test: busybox (sh, wget and the coreutils applets) or
 * dash + curl, the shared libraries those and the Node link against, /tmp and four device nodes;
 * no systemd, no package manager, no Node.js. Commands run in it through `chroot`, inside a network
 * namespace of the test's own (loopback only) and a mount namespace of their own, where /proc is
 * mounted for them (a Bun executable reads itself through /proc/self/exe). Nothing is bind-mounted
 * from the host, so removing the directory afterwards can only remove what the test put there.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { tempDir } from "./harness.ts";

/** Busybox applets the installer uses (and `env`, `sleep` for the tests' own commands). */
const APPLETS = [
  "sh",
  "wget",
  "sha256sum",
  "mkdir",
  "cp",
  "mv",
  "chmod",
  "chown",
  "ln",
  "rm",
  "rmdir",
  "cat",
  "uname",
  "id",
  "ls",
];
const EXTRA_APPLETS = ["env", "sleep", "find"];

function which(name: string): string {
  return execFileSync("sh", ["-c", `command -v ${name}`])
    .toString()
    .trim();
}

/** The shared objects `binary` loads (ldd), by absolute path. */
function libraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary]).toString();
  return [...out.matchAll(/(\/[^\s]+\.so[^\s]*)/g)].map((m) => m[1] as string);
}

export type Toolset = "busybox" | "dash-curl";

export class InstallRoot {
  readonly dir: string;
  readonly toolset: Toolset;

  constructor(toolset: Toolset) {
    this.toolset = toolset;
    this.dir = tempDir(`root-${toolset}`);
  }

  /** Lays out the tree; `nodeBinary` only lends the Node's libraries (it is not copied in). */
  build(nodeBinary: string): this {
    for (const d of ["bin", "usr/bin", "usr/local/bin", "etc", "var/lib", "proc", "dev"]) {
      mkdirSync(join(this.dir, d), { recursive: true });
    }
    mkdirSync(join(this.dir, "tmp"), { recursive: true });
    chmodSync(join(this.dir, "tmp"), 0o1777);
    const binaries: string[] = [];
    if (this.toolset === "busybox") {
      const busybox = which("busybox");
      copyFileSync(busybox, join(this.dir, "bin/busybox"));
      chmodSync(join(this.dir, "bin/busybox"), 0o755);
      for (const applet of [...APPLETS, ...EXTRA_APPLETS]) symlinkSync("busybox", join(this.dir, "bin", applet));
      binaries.push(busybox);
    } else {
      // dash as sh, curl to download; the coreutils the script needs from busybox (sh-less: the
      // shell is dash, the downloader curl, no wget anywhere).
      const busybox = which("busybox");
      copyFileSync(busybox, join(this.dir, "bin/busybox"));
      chmodSync(join(this.dir, "bin/busybox"), 0o755);
      for (const applet of [...APPLETS, ...EXTRA_APPLETS].filter((a) => a !== "sh" && a !== "wget"))
        symlinkSync("busybox", join(this.dir, "bin", applet));
      for (const [from, to] of [
        [which("dash"), "bin/sh"],
        [which("curl"), "usr/bin/curl"],
      ] as const) {
        copyFileSync(from, join(this.dir, to));
        chmodSync(join(this.dir, to), 0o755);
        binaries.push(from);
      }
      binaries.push(busybox);
    }
    binaries.push(nodeBinary);
    for (const lib of new Set(binaries.flatMap(libraries))) {
      const target = join(this.dir, lib);
      if (existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(lib, target);
    }
    // The devices a program expects; made, not bind-mounted from the host.
    for (const [name, minor] of [
      ["null", 3],
      ["zero", 5],
      ["random", 8],
      ["urandom", 9],
    ] as const) {
      execFileSync("mknod", ["-m", "666", join(this.dir, "dev", name), "c", "1", String(minor)]);
    }
    return this;
  }

  /**
   * argv for spawn: `script` run by the root's /bin/sh inside `netns`, chrooted, with a private
   * /proc. `PATH` inside is the root's own.
   */
  command(netns: string, script: string): [string, string[]] {
    const inner = `mount -t proc proc "$0/proc" && exec chroot "$0" /bin/sh -c "$1"`;
    return [
      "ip",
      [
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--fork",
        // The command dies with unshare (a test stopping the Node stops it, not just its parent).
        "--kill-child",
        "sh",
        "-c",
        inner,
        this.dir,
        `PATH=/usr/local/bin:/usr/bin:/bin; export PATH; ${script}`,
      ],
    ];
  }

  /**
   * argv for spawn: like `command`, but sandboxed the way the install.sh unit runs the Node
   * (ProtectSystem=strict + ReadWritePaths + PrivateTmp + DynamicUser, approximated with mounts):
   * the whole root read-only except `writable` (paths inside it), and the script run as `user`
   * (uid:gid). `env` is read by root before the switch, as systemd reads EnvironmentFile=.
   */
  sandboxedCommand(
    netns: string,
    script: string,
    options: { user: string; writable: string[]; envFile?: string },
  ): [string, string[]] {
    const binds = options.writable.map((p) => `mount --bind "$0${p}" "$0${p}" && `).join("");
    const env = options.envFile ? `set -a && . "$0${options.envFile}" && set +a && ` : "";
    const inner =
      // The writable binds are taken before the root turns read-only (a bind copies its source's flags).
      `mount --bind "$0" "$0" && ${binds}mount -o remount,bind,ro "$0" && ` +
      `mount -t proc proc "$0/proc" && ${env}exec chroot --userspec=${options.user} "$0" /bin/sh -c "$1"`;
    return [
      "ip",
      [
        "netns",
        "exec",
        netns,
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--fork",
        "--kill-child",
        "sh",
        "-c",
        inner,
        this.dir,
        `PATH=/usr/local/bin:/usr/bin:/bin; export PATH; ${script}`,
      ],
    ];
  }

  /** Runs `script` in the root (inside `netns`) to its end. */
  run(netns: string, script: string, timeoutMs = 120_000) {
    const [command, args] = this.command(netns, script);
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
      child.on("close", (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      }),
    );
  }

  /** The installed unit's ExecStart line. */
  execStart(): string {
    const unit = readFileSync(this.path("etc/systemd/system/fabricore-node.service"), "utf8");
    const exec = /^ExecStart=(.+)$/m.exec(unit)?.[1];
    if (!exec) throw new Error(`no ExecStart in\n${unit}`);
    return exec;
  }

  /**
   * `systemd-analyze verify` of the installed unit inside this root (systemd's own units are copied
   * in first: verify resolves the unit's dependencies there), and `systemd-analyze security`'s
   * overall exposure (undefined where it cannot run).
   */
  analyzeUnit(): {
    verify: { status: number | null; stdout: string; stderr: string };
    exposure?: { score: number; label: string };
    securityOutput: string;
  } {
    mkdirSync(this.path("usr/lib/systemd"), { recursive: true });
    if (!existsSync(this.path("usr/lib/systemd/system")))
      execFileSync("cp", ["-a", "/usr/lib/systemd/system", this.path("usr/lib/systemd/")]);
    const verify = spawnSync(
      "systemd-analyze",
      ["verify", `--root=${this.dir}`, "/etc/systemd/system/fabricore-node.service"],
      { encoding: "utf8" },
    );
    const unitPath = this.path("etc/systemd/system/fabricore-node.service");
    const security = spawnSync("systemd-analyze", ["security", "--offline=yes", unitPath], { encoding: "utf8" });
    const match = /Overall exposure level for .*: ([\d.]+) (\S+)/.exec(security.stdout);
    return {
      verify: { status: verify.status, stdout: verify.stdout, stderr: verify.stderr },
      ...(match && { exposure: { score: Number(match[1]), label: match[2] as string } }),
      securityOutput: security.stderr.trim(),
    };
  }

  path(inside: string): string {
    return join(this.dir, inside);
  }

  /** Removes the tree, unless something is still mounted below it (then it is left, loudly). */
  destroy(): void {
    const mounts = execFileSync("cat", ["/proc/self/mountinfo"]).toString();
    if (mounts.includes(this.dir)) {
      console.warn(`not removing ${this.dir}: something is mounted below it`);
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
