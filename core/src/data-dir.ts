import { closeSync, existsSync, openSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The data dir holds the SQLite database (run transcripts, tool outputs, audit log), the master
 * key and the rotation's next key. Issue 21.4: it was created 0755 and the database 0644, so any
 * local user could read every transcript. Only the Core's user may read or list any of it.
 */
export const DATA_DIR_MODE = 0o700;
export const DATA_FILE_MODE = 0o600;
/** What the Core's process creates from its start on: nothing for group or others. */
export const CORE_UMASK = 0o077;

/**
 * One sentence per path that group or others can reach: the data dir itself and every file in
 * it; none when the dir does not exist yet (it is then created 0700 by whoever needs it first).
 * Reported, not tightened: an operator may have widened them on purpose (a backup group); the
 * sentence says how to tighten.
 */
export function dataDirWarnings(dataDir: string): string[] {
  const dir = statSync(dataDir, { throwIfNoEntry: false });
  if (!dir?.isDirectory()) return [];
  const warnings: string[] = [];
  const dirMode = dir.mode & 0o777;
  if (dirMode & 0o077) warnings.push(`${dataDir} is mode ${octal(dirMode)} (chmod 700 ${quote(dataDir)})`);
  for (const name of readdirSync(dataDir).sort()) {
    const path = join(dataDir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat?.isFile()) continue;
    const mode = stat.mode & 0o777;
    if (mode & 0o077) warnings.push(`${path} is mode ${octal(mode)} (chmod 600 ${quote(path)})`);
  }
  return warnings;
}

/** Creates an empty file 0600 if it does not exist (SQLite treats an empty file as a new
 * database, and makes its -wal and -shm files with the database file's mode). */
export function createPrivateFile(path: string): void {
  if (existsSync(path)) return;
  closeSync(openSync(path, "a", DATA_FILE_MODE));
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
}

function quote(path: string): string {
  return /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}
