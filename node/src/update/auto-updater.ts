import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { NodeUpdateResultParams } from "@fabricore/protocol";
import type { Logger } from "../logger.ts";
import { downloadBuild } from "./download-build.ts";
import { restorePrevious, stagingPath, swapExecutable } from "./swap-executable.ts";
import { markerPath, newUpdateId, removeMarker, writeMarker } from "./update-marker.ts";
import { WATCHDOG_COMMAND, watchdogReadyPath } from "./update-watchdog.ts";
import { BuildRefused, verifyBuild } from "./verify-build.ts";

export interface AutoUpdaterOptions {
  /** The Core's http(s)://host:port[/prefix] to download from. */
  coreUrl: string;
  ca?: string | undefined;
  dataDir: string;
  /** This process's executable file (the compiled Node), replaced in place. */
  executable: string;
  /** The Node's own arguments, to start the new version with. */
  argv: string[];
  platform: string;
  currentVersion: string;
  deadlineMs: number;
  /** The release key pinned at enrollment (read when an update is considered: enrollment may be recent). */
  updateKey: () => string | undefined;
  /** Builds not to try again (a rolled-back one). */
  skipSha256?: Iterable<string>;
  logger: Logger;
  /** What became of an update that did not replace this process: told to the Core
   * (`fabricore/node/update-result`), which pauses a staged rollout on it. */
  onOutcome?: (result: NodeUpdateResultParams) => void;
  /** Closes the connection and MCP servers before the exec. */
  stopNode: () => Promise<void>;
  /** Replaces this process (same pid) with the file; tests pass their own. */
  exec?: (file: string, args: string[], env: NodeJS.ProcessEnv) => void;
  /** Starts the watchdog from the previous file and resolves once it is ready; tests pass their own. */
  startWatchdog?: (previous: string, markerFile: string, id: string) => void | Promise<void>;
}

/**
 * --auto-update: when the Core advertises another Node version, download it beside the executable,
 * refuse it unless digest and signature check out (verify-build.ts), swap the file atomically
 * (keeping the previous one), leave DATA_DIR/update.json and a watchdog behind, and exec the new
 * file with the same arguments and environment. The new version confirms itself once it reaches
 * the Core (main.ts); otherwise it, or the watchdog, puts the previous file back.
 */
export class AutoUpdater {
  readonly #options: AutoUpdaterOptions;
  readonly #skip: Set<string>;
  #busy = false;
  #saidReadOnly = false;

  constructor(options: AutoUpdaterOptions) {
    this.#options = options;
    this.#skip = new Set(options.skipSha256 ?? []);
  }

  /** Called with the version the Core serves (each hello). Resolves when done or refused; on success
   * the process has been replaced and this never resolves. */
  async consider(advertised: string | undefined): Promise<void> {
    const o = this.#options;
    if (advertised === undefined || advertised === o.currentVersion || this.#busy) return;
    this.#busy = true;
    const staged = stagingPath(o.executable);
    try {
      // Not worth downloading 100 MB to learn it: a plain install.sh keeps /usr/local/bin read-only.
      const dir = dirname(o.executable);
      const writable = await access(dir, constants.W_OK).then(
        () => true,
        () => false,
      );
      if (!writable) {
        if (!this.#saidReadOnly) {
          o.logger.error(
            { to: advertised, dir },
            "cannot update: the Node's executable is in a directory it may not write; install it with " +
              "install.sh --auto-update (the executable then lives in its state directory); this version keeps running",
          );
        }
        this.#saidReadOnly = true;
        this.#report("failed", advertised, {
          code: "read_only",
          reason: `the Node's executable is in ${dir}, which it may not write (install it with install.sh --auto-update)`,
        });
        return;
      }
      const url = new URL(o.coreUrl);
      url.pathname = `${url.pathname.replace(/\/+$/, "")}/api/nodes/binary/${o.platform}`;
      o.logger.info({ from: o.currentVersion, to: advertised, url: url.toString() }, "downloading the Node update");
      // Skipped by digest, never by version: a build the Core serves later (another digest, even
      // under the same version) is downloaded and checked like any other, without a restart.
      const build = await downloadBuild(url.toString(), staged, { ca: o.ca, skip: this.#skip });
      if ("skipped" in build || this.#skip.has(build.sha256)) {
        o.logger.debug({ sha256: build.sha256 }, "this build was refused or rolled back before; not trying it again");
        await rm(staged, { force: true });
        // Said again so a rollout waiting for this Node hears now, not at its deadline.
        this.#report("refused", advertised, {
          code: "not_retried",
          reason: "this build was refused or rolled back on this Node before; it is not tried again",
          sha256: build.sha256,
        });
        return;
      }
      try {
        verifyBuild(build, { platform: o.platform, version: advertised, updateKey: o.updateKey() });
      } catch (error) {
        this.#skip.add(build.sha256);
        await rm(staged, { force: true });
        if (!(error instanceof BuildRefused)) throw error;
        o.logger.error(
          { code: error.code, to: advertised, sha256: build.sha256, err: error.message },
          "refusing the Node update; this version keeps running",
        );
        this.#report("refused", advertised, { code: error.code, reason: error.message, sha256: build.sha256 });
        return;
      }
      const { previous } = await swapExecutable(o.executable, staged);
      const id = newUpdateId();
      const file = markerPath(o.dataDir);
      await writeMarker(file, {
        version: 1,
        state: "pending",
        id,
        from: o.currentVersion,
        to: advertised,
        sha256: build.sha256,
        executable: o.executable,
        previous,
        pid: process.pid,
        argv: o.argv,
        deadline: Date.now() + o.deadlineMs,
      });
      try {
        await (o.startWatchdog ?? startWatchdog)(previous, file, id);
      } catch (error) {
        // No watchdog, no exec: without one a build that dies at once could not be rolled back.
        await restorePrevious(o.executable, previous);
        await removeMarker(file);
        throw error;
      }
      o.logger.info(
        { from: o.currentVersion, to: advertised, sha256: build.sha256, previous, deadlineMs: o.deadlineMs },
        "update verified and installed; restarting into it",
      );
      // Bounded: a Core that does not answer the close frame must not hold the update.
      await Promise.race([o.stopNode().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000))]);
      (o.exec ?? execve)(o.executable, [o.executable, ...o.argv], process.env);
    } catch (error) {
      await rm(staged, { force: true }).catch(() => {});
      o.logger.error(
        { to: advertised, err: (error as Error).message },
        "the Node update failed; this version keeps running",
      );
      this.#report("failed", advertised, { code: "update_failed", reason: (error as Error).message });
    } finally {
      this.#busy = false;
    }
  }

  #report(
    outcome: NodeUpdateResultParams["outcome"],
    to: string,
    detail: { code: string; reason: string; sha256?: string },
  ): void {
    const reason = detail.reason.slice(0, 1024);
    this.#options.onOutcome?.({
      outcome,
      from: this.#options.currentVersion,
      to: to.slice(0, 64),
      ...detail,
      reason,
      at: new Date().toISOString(),
    });
  }
}

/** process.execve (Bun, Node ≥ 23.11): the same pid, so systemd, Docker or a shell that started
 * the Node keeps watching the same process. */
export function execve(file: string, args: string[], env: NodeJS.ProcessEnv): void {
  const exec = (process as unknown as { execve?: (f: string, a: string[], e: NodeJS.ProcessEnv) => void }).execve;
  if (exec === undefined) throw new Error("this runtime cannot exec (process.execve is missing)");
  exec(file, args, env);
}

/** How long a watchdog may take to load before the update is given up (a cold 100 MB executable
 * on a loaded host takes well under this). */
const WATCHDOG_READY_MS = 15_000;

async function startWatchdog(previous: string, markerFile: string, id: string): Promise<void> {
  const child = spawn(previous, [WATCHDOG_COMMAND, markerFile, id], {
    detached: true,
    stdio: ["ignore", "inherit", "inherit"],
    env: process.env,
  });
  child.unref();
  const ready = watchdogReadyPath(markerFile, id);
  const deadline = Date.now() + WATCHDOG_READY_MS;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    if (
      await access(ready).then(
        () => true,
        () => false,
      )
    )
      return;
    await sleep(20);
  }
  child.kill("SIGKILL");
  throw new Error(`the update watchdog did not start (${child.exitCode ?? child.signalCode ?? "not ready in time"})`);
}

/** The compiled Node's own file, or undefined when running from source (node/bun main.ts): only an
 * executable of its own can be replaced. */
export function compiledExecutable(): string | undefined {
  const main = (globalThis as { Bun?: { main?: string } }).Bun?.main;
  return main?.startsWith("/$bunfs/") ? process.execPath : undefined;
}
