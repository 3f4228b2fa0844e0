import { spawn } from "node:child_process";
import { rename, rm, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive } from "./process-alive.ts";
import { restorePrevious } from "./swap-executable.ts";
import { readMarker, rolledBack, writeMarker } from "./update-marker.ts";

export const WATCHDOG_COMMAND = "__update-watchdog";

/** Made by a started watchdog once SIGTERM no longer kills it, removed when it ends. The updater
 * waits for it before the exec: under systemd a new version that dies at once makes the unit
 * SIGTERM its whole control group, and a watchdog still loading (a 100 MB executable on a busy host)
 * would die of that signal's default action, leaving the broken build to be restarted forever. */
export const watchdogReadyPath = (markerFile: string, id: string) => `${markerFile}.${id}.watchdog`;

export interface WatchdogOptions {
  /** Past the deadline, the new version gets this long to roll itself back (same pid) first. */
  graceMs?: number;
  pollMs?: number;
  isAlive?: (pid: number) => boolean;
  /** Starts the restored previous version (default: detached, same argv and environment). */
  restart?: (executable: string, argv: string[]) => void;
  log?: (message: string) => void;
  /** Aborted when this process is told to stop (SIGTERM): under systemd the unit's stop signal
   * reaches the whole control group, this watchdog too, the moment the new version dies. The watch
   * goes on for `stopGraceMs` more, long enough to see the pid gone and restore the previous file
   * before systemd starts the unit again. */
  stopping?: AbortSignal;
  stopGraceMs?: number;
}

/**
 * The previous version, started by itself just before it exec'd the new file, watching that one
 * from outside (issue 18: "rolled back if the new one does not connect"). It catches what the new
 * version cannot catch itself: dying before its own code runs, or hanging. It acts only on its own
 * update (the marker's id) and only while that is still pending:
 *  - the process is gone → restore the previous file and start it (unless systemd restarts it);
 *  - still pending after deadline + grace → kill it, restore, start the previous file.
 * The new version confirming (the marker removed) or rolling back itself ends the watch.
 */
export async function runUpdateWatchdog(
  markerFile: string,
  id: string,
  options: WatchdogOptions = {},
): Promise<"confirmed" | "rolledBack" | "restored" | "stopped"> {
  const isAlive = options.isAlive ?? processAlive;
  const log = options.log ?? ((message) => process.stderr.write(`fabricore-node update watchdog: ${message}\n`));
  let stopBy: number | undefined;
  const onStop = () => {
    stopBy = Date.now() + (options.stopGraceMs ?? 5_000);
  };
  if (options.stopping?.aborted) onStop();
  else options.stopping?.addEventListener("abort", onStop, { once: true });
  for (;;) {
    const marker = await readMarker(markerFile);
    if (marker?.id !== id) return "confirmed";
    if (marker.state !== "pending") return "rolledBack";
    const alive = isAlive(marker.pid);
    const late = Date.now() > marker.deadline + (options.graceMs ?? 5_000);
    if (!alive || late) {
      const reason = alive
        ? `version ${marker.to} did not reach the Core by its deadline`
        : `version ${marker.to} exited before it reached the Core`;
      const restored = await restorePrevious(marker.executable, marker.previous);
      await writeMarker(markerFile, rolledBack(marker, reason));
      if (alive) process.kill(marker.pid, "SIGKILL");
      log(`${reason}; ${restored ? `restored ${marker.from}` : "no previous file to restore"}`);
      // Under systemd the unit restarts the (restored) file itself; a second copy would race it.
      if (restored && process.env.INVOCATION_ID === undefined) {
        (options.restart ?? restartDetached)(marker.executable, marker.argv);
      }
      return "restored";
    }
    if (stopBy !== undefined && Date.now() > stopBy) {
      log(`told to stop while version ${marker.to} still runs on probation; leaving it to its own deadline`);
      return "stopped";
    }
    await sleep(stopBy === undefined ? (options.pollMs ?? 250) : Math.min(options.pollMs ?? 250, 50));
  }
}

/** `fabricore-node __update-watchdog <update.json> <id>` (main.ts): the watch, with SIGTERM/SIGINT
 * meaning "the unit is stopping" (finish what is due, then end) rather than "die now". */
export async function watchdogCommand(args: readonly string[]): Promise<void> {
  const stopping = new AbortController();
  const stop = () => stopping.abort();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  const ready = watchdogReadyPath(args[0] ?? "", args[1] ?? "");
  try {
    // Whole or absent (renamed into place): the updater takes its existence as the signal.
    await writeFile(`${ready}.tmp`, `${process.pid}\n`);
    await rename(`${ready}.tmp`, ready);
    await runUpdateWatchdog(args[0] ?? "", args[1] ?? "", { stopping: stopping.signal });
  } finally {
    await rm(ready, { force: true }).catch(() => {});
    process.off("SIGTERM", stop);
    process.off("SIGINT", stop);
  }
}

function restartDetached(executable: string, argv: string[]): void {
  spawn(executable, argv, { detached: true, stdio: "inherit", env: process.env }).unref();
}
