/**
 * A throw-away machine that runs a real systemd as its PID 1, for the installer's systemd e2e: the
 * host's own /lib/systemd/systemd (Debian's package) booted over an overlay of the host's root in
 * namespaces of the test's own (support/systemd-boot.sh says what is where). It takes ~1 s to boot,
 * needs no image and no download, and lives in the network namespace the test gives it (loopback
 * only, support/install-netns.ts). Needs root, overlayfs, unshare and nsenter.
 *
 * Cleanup: poweroff (or SIGKILL of its PID 1, which ends the PID namespace) ends every process in
 * it; its mounts die with its mount namespace; the cgroup directories made for it are removed here.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Proc, ROOT, tempDir, waitFor } from "./harness.ts";

const BOOT_SCRIPT = join(ROOT, "e2e/support/systemd-boot.sh");

/** Why a systemd machine cannot be booted here, or "" when it can. */
export function systemdMachineUnavailable(): string {
  if (process.getuid?.() !== 0) return "booting systemd in namespaces needs root";
  for (const path of ["/lib/systemd/systemd", "/usr/bin/systemctl"]) {
    if (!existsSync(path)) return `${path} is missing (apt-get install systemd)`;
  }
  for (const tool of ["unshare", "nsenter", "pivot_root"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is missing`;
  }
  if (!readFileSync("/proc/filesystems", "utf8").includes("overlay")) return "the kernel has no overlayfs";
  return "";
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** For each cgroup hierarchy this process is in: a new directory below its own cgroup there. */
function cgroupDirsFor(name: string): string[] {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => {
      const [left, right] = line.split(" - ");
      const fields = left?.split(" ") ?? [];
      const [fstype, , superOptions] = right?.split(" ") ?? [];
      return { mountPoint: fields[4] ?? "", fstype, options: (superOptions ?? "").split(",") };
    })
    .filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2");
  const dirs: string[] = [];
  for (const line of readFileSync("/proc/self/cgroup", "utf8").trim().split("\n")) {
    const [, controllers = "", path = "/"] = line.split(":");
    const mount =
      controllers === ""
        ? mounts.find((m) => m.fstype === "cgroup2")
        : mounts.find((m) => m.fstype === "cgroup" && controllers.split(",").every((c) => m.options.includes(c)));
    if (!mount) continue;
    const dir = join(mount.mountPoint, path, name);
    mkdirSync(dir);
    // A new cpuset (v1) starts with no CPUs and no memory nodes, and takes no task until given some.
    if (mount.options.includes("cpuset")) {
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        writeFileSync(join(dir, file), readFileSync(join(mount.mountPoint, path, file)));
      }
    }
    dirs.push(dir);
  }
  return dirs;
}

/** Removes a cgroup directory tree bottom-up (cgroupfs: rmdir only, and only once it is empty). */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeCgroupTree(child);
  }
  rmdirSync(dir);
}

export class SystemdMachine {
  readonly #boot: Proc;
  readonly #scratch: string;
  readonly #cgroups: string[];
  /** PID 1 of the machine, as the host sees it. */
  readonly pid: number;

  private constructor(boot: Proc, scratch: string, cgroups: string[], pid: number) {
    this.#boot = boot;
    this.#scratch = scratch;
    this.#cgroups = cgroups;
    this.pid = pid;
  }

  /** Boots a machine in network namespace `netns` and waits until systemd says it is up. */
  static async boot(netns: string): Promise<SystemdMachine> {
    const scratch = tempDir("systemd-machine");
    const cgroups = cgroupDirsFor(`fabricore-e2e-${process.pid}-${Date.now()}`);
    const boot = new Proc(
      spawn("nsenter", [`--net=/run/netns/${netns}`, "sh", BOOT_SCRIPT, scratch, ...cgroups], {
        stdio: ["ignore", "pipe", "pipe"],
      }) as ChildProcess,
    );
    const outer = boot.child.pid as number;
    // nsenter and the script exec (same pid) until unshare forks: its child becomes systemd.
    const pid = await waitFor(
      "systemd's pid",
      () => {
        if (boot.exited) throw new Error(`the machine did not boot:\n${boot.output}`);
        const children = readFileSync(`/proc/${outer}/task/${outer}/children`, "utf8").trim();
        if (children === "") return undefined;
        const child = Number(children.split(" ")[0]);
        return readFileSync(`/proc/${child}/comm`, "utf8").trim() === "systemd" ? child : undefined;
      },
      20_000,
      50,
    ).catch((error: unknown) => {
      if (!boot.exited) boot.child.kill("SIGKILL");
      for (const dir of cgroups) {
        try {
          removeCgroupTree(dir);
        } catch {}
      }
      rmSync(scratch, { recursive: true, force: true });
      throw error;
    });
    const machine = new SystemdMachine(boot, scratch, cgroups, pid);
    const state = await waitFor(
      "systemd to finish booting",
      async () => {
        const out = (await machine.run("systemctl is-system-running")).stdout.trim();
        return out === "running" || out === "degraded" ? out : undefined;
      },
      60_000,
      200,
    ).catch(async (error: unknown) => {
      await machine.destroy();
      throw error;
    });
    if (state === "degraded") {
      const failed = (await machine.run("systemctl --failed --no-legend --plain")).stdout;
      await machine.destroy();
      throw new Error(`the machine booted degraded:\n${failed}`);
    }
    return machine;
  }

  /** Runs `sh -c script` inside the machine (its namespaces and root), as root, with the host file
   * `input` (if given) on its stdin. Asynchronous: the test's forwarders to the Core run in this
   * same process and must keep running meanwhile. */
  run(script: string, timeoutMs = 120_000, input?: string): Promise<RunResult> {
    const child = spawn(
      "nsenter",
      [
        ...["-t", String(this.pid), "-m", "-p", "-n", "-u", "-i", "-r", "-w"],
        ...["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        ...["sh", "-c", script],
      ],
      { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"], timeout: timeoutMs },
    );
    // A host file copied in through stdin: the machine's /tmp is its own, and files made on the
    // host after the boot are not part of its root.
    if (input !== undefined) createReadStream(input).pipe(child.stdin as NodeJS.WritableStream);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  }

  /** `systemctl show UNIT -p …` as an object. */
  async show(unit: string, properties: string[]): Promise<Record<string, string>> {
    const { stdout } = await this.run(`systemctl show ${unit} ${properties.map((p) => `-p ${p}`).join(" ")}`);
    return Object.fromEntries(
      stdout
        .trim()
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  }

  /** A file of the machine's, or undefined when it cannot be read. */
  async readFile(path: string): Promise<string | undefined> {
    const res = await this.run(`cat ${path}`);
    return res.status === 0 ? res.stdout : undefined;
  }

  async destroy(): Promise<void> {
    if (!this.#boot.exited) {
      await this.run("systemctl poweroff --no-block", 10_000);
      const done = await waitFor("the machine to power off", () => this.#boot.exited, 20_000, 100).catch(() => false);
      if (!done) {
        // SIGKILL of a PID namespace's init ends every process in it.
        try {
          process.kill(this.pid, "SIGKILL");
        } catch {}
        await waitFor("the machine to end", () => this.#boot.exited, 10_000, 100).catch(() => false);
      }
    }
    // Its processes are gone; their cgroups empty out as the kernel reaps them.
    for (const dir of this.#cgroups) {
      await waitFor(
        `cgroup ${dir} removed`,
        () => {
          removeCgroupTree(dir);
          return true;
        },
        10_000,
        200,
      ).catch((error: unknown) => console.warn(String(error)));
    }
    rmSync(this.#scratch, { recursive: true, force: true });
  }

  get output(): string {
    return this.#boot.output;
  }
}
