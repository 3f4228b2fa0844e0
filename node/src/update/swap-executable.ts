import { chmod, copyFile, link, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** Where a download waits beside the executable: the same directory, so rename() is atomic. */
export const stagingPath = (executable: string) => join(dirname(executable), `.${basename(executable)}.new`);
export const previousPath = (executable: string) => `${executable}.previous`;

/**
 * Puts the verified file `staged` in place of `executable`, keeping the running one as
 * `<executable>.previous`: a hard link of the current file (no copy of 100 MB, and the running
 * process keeps its inode either way), then one rename() over the executable's name. At every
 * instant the name points at a whole executable, old or new.
 */
export async function swapExecutable(executable: string, staged: string): Promise<{ previous: string }> {
  const previous = previousPath(executable);
  const mode = (await stat(executable)).mode & 0o777;
  await chmod(staged, mode);
  await rm(previous, { force: true });
  try {
    await link(executable, previous);
  } catch (error) {
    // fs.protected_hardlinks: no hard link to another user's file, e.g. one that root's install.sh
    // wrote into the Node's own directory. A copy keeps the same bytes (and a rename below still
    // leaves the running file's inode alone).
    if ((error as NodeJS.ErrnoException).code !== "EPERM") throw error;
    await copyFile(executable, previous);
    await chmod(previous, mode);
  }
  await rename(staged, executable);
  return { previous };
}

/**
 * Puts `<executable>.previous` back under the executable's name (rename: atomic). The previous file
 * is moved, not copied; a second rollback of the same update finds nothing to restore and says so.
 */
export async function restorePrevious(executable: string, previous: string): Promise<boolean> {
  try {
    await rename(previous, executable);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
