import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { processAlive } from "./process-alive.ts";
import { restorePrevious } from "./swap-executable.ts";
import { readMarker, rolledBack, writeMarker } from "./update-marker.ts";

export const WATCHDOG_COMMAND = "__update-watchdog";

export interface WatchdogOptions {
  /** Past the deadline, the new version gets this long to roll itself back (same pid) first. */
  graceMs?: number;
  pollMs?: number;
  isAlive?: (pid: number) => boolean;
  /** Starts the restored previous version (default: detached, same argv and environment). */
  restart?: (executable: string, argv: string[]) => void;
  log?: (message: string) => void;
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
): Promise<"confirmed" | "rolledBack" | "restored"> {
  const isAlive = options.isAlive ?? processAlive;
  const log = options.log ?? ((message) => process.stderr.write(`fabricore-node update watchdog: ${message}\n`));
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
    await sleep(options.pollMs ?? 250);
  }
}

function restartDetached(executable: string, argv: string[]): void {
  spawn(executable, argv, { detached: true, stdio: "inherit", env: process.env }).unref();
}
