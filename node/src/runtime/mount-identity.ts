import type { Stats } from "node:fs";
import { lstat, stat } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { RuntimeError } from "./errors.ts";

/**
 * Issue 21.6: the Node checks a mount source with realpath, then dockerd resolves the path again
 * when the container starts. Whoever can write to a directory on the way could swap the checked
 * directory for a symlink in between (`/srv/x` → `/etc`) and have `/etc` mounted. Two defences:
 *
 * 1. `swappableComponent`: a source is refused when a directory on its path could be changed by
 *    someone other than root or the Node's own user (writable by them, or owned by them). A
 *    world-writable directory with the sticky bit (`/tmp`) is fine when the entry below it is
 *    owned by root or the Node: the sticky bit stops others renaming it.
 * 2. `verifyMounted`: after the container starts, the directory it has at each target must be the
 *    very one that was checked (same device and inode, read through /proc/<pid>/root); otherwise
 *    the container is removed before the MCP server is spoken to.
 */

/** Device and inode of a checked source: what the container must have at `target`. */
export interface MountIdentity {
  source: string;
  target: string;
  dev: number;
  ino: number;
}

export function identityOf(source: string, target: string, stats: Stats): MountIdentity {
  return { source, target, dev: stats.dev, ino: stats.ino };
}

function trusted(uid: number): boolean {
  return uid === 0 || uid === process.getuid?.();
}

/** Why `real` (a resolved path) could be swapped by another user, or undefined when it cannot. */
export async function swappableComponent(real: string): Promise<string | undefined> {
  // From the source's parent up to `/`: each must be unchangeable by others. The source itself
  // may be anyone's: replacing it needs write access to its parent.
  let child = real;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const info = await lstat(dir);
    const mode = info.mode & 0o7777;
    if (!trusted(info.uid)) return `${dir} is owned by uid ${info.uid}, who could swap what is below it`;
    if (mode & 0o020 && info.gid !== 0)
      return `${dir} is writable by group ${info.gid} (mode 0${mode.toString(8)}), who could swap what is below it`;
    if (mode & 0o002) {
      const sticky = (mode & 0o1000) !== 0;
      const entry = await lstat(child);
      if (!sticky || !trusted(entry.uid))
        return `${dir} is writable by every user (mode 0${mode.toString(8)})${sticky ? ` and ${child} is owned by uid ${entry.uid}` : ""}, so what is below it could be swapped`;
    }
    if (dir === dirname(dir) || dir === sep) return undefined;
    child = dir;
  }
}

/** Fails unless the container (first process `pid`) has the checked directory at every target. */
export async function verifyMounted(pid: number, identities: readonly MountIdentity[]): Promise<void> {
  for (const expected of identities) {
    const seen = join(`/proc/${pid}/root`, expected.target);
    let actual: Stats;
    try {
      actual = await stat(seen);
    } catch (error) {
      throw new RuntimeError(
        "mount_refused",
        `cannot verify the mount at ${expected.target} (${(error as Error).message}); the container was removed`,
      );
    }
    if (actual.dev !== expected.dev || actual.ino !== expected.ino) {
      throw new RuntimeError(
        "mount_refused",
        `the container's ${expected.target} is not the checked ${JSON.stringify(expected.source)} (it was replaced between the check and the start); the container was removed`,
      );
    }
  }
}
