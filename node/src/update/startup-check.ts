import { restorePrevious } from "./swap-executable.ts";
import {
  markerPath,
  type PendingUpdate,
  type RolledBackUpdate,
  readMarker,
  rolledBack,
  writeMarker,
} from "./update-marker.ts";

export type StartupState =
  | { kind: "none" }
  /** This is the new version, on probation until it reaches the Core or the deadline passes. */
  | { kind: "probation"; marker: PendingUpdate }
  /** This is the new version and it has already failed (restarted, or late): roll back now. */
  | { kind: "rollback"; marker: PendingUpdate; reason: string }
  /** This is the version an update was rolled back to: that build is not tried again. */
  | { kind: "rolledBack"; marker: RolledBackUpdate };

/**
 * What DATA_DIR/update.json means for the version starting now. The first thing a Node does with
 * --auto-update: a new version that was restarted during its probation (it crashed and systemd
 * started the file again) gets a new pid, which is how it knows to give the previous one back.
 */
export async function startupState(dataDir: string, own: { version: string; pid: number }): Promise<StartupState> {
  const file = markerPath(dataDir);
  const marker = await readMarker(file);
  if (!marker) return { kind: "none" };
  if (marker.state === "rolledBack") return { kind: "rolledBack", marker };
  if (marker.to === own.version) {
    if (marker.pid !== own.pid) {
      return { kind: "rollback", marker, reason: `version ${marker.to} was restarted before it reached the Core` };
    }
    if (Date.now() > marker.deadline) {
      return { kind: "rollback", marker, reason: `version ${marker.to} did not reach the Core by its deadline` };
    }
    return { kind: "probation", marker };
  }
  // Pending, and another version runs: the previous file was put back (by the watchdog or by hand).
  const record = rolledBack(marker, `version ${marker.to} stopped before it reached the Core`);
  await writeMarker(file, record);
  return { kind: "rolledBack", marker: record };
}

/** Puts the previous file back and records why; the caller then exec's it. False: nothing to restore. */
export async function rollBack(dataDir: string, marker: PendingUpdate, reason: string): Promise<boolean> {
  const restored = await restorePrevious(marker.executable, marker.previous);
  await writeMarker(markerPath(dataDir), rolledBack(marker, reason));
  return restored;
}
