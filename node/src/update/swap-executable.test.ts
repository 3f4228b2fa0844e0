import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { previousPath, restorePrevious, stagingPath, swapExecutable } from "./swap-executable.ts";

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "swap-"));
  const executable = join(dir, "fabricore-node");
  writeFileSync(executable, "old", { mode: 0o751 });
  const staged = stagingPath(executable);
  writeFileSync(staged, "new", { mode: 0o600 });
  return { dir, executable, staged };
}

describe("swapExecutable / restorePrevious", () => {
  it("puts the new file under the name with the old mode and keeps the old one as .previous", async () => {
    const { executable, staged } = setup();
    expect(staged).toBe(join(executable, "..", ".fabricore-node.new"));
    const before = statSync(executable).ino;
    const { previous } = await swapExecutable(executable, staged);
    expect(previous).toBe(previousPath(executable));
    expect(readFileSync(executable, "utf8")).toBe("new");
    expect(statSync(executable).mode & 0o777).toBe(0o751);
    // A hard link: the very inode the running process was started from.
    expect(statSync(previous).ino).toBe(before);
    expect(readFileSync(previous, "utf8")).toBe("old");
  });

  it("rolls back once, and says when there is nothing left to restore", async () => {
    const { executable, staged } = setup();
    const { previous } = await swapExecutable(executable, staged);
    expect(await restorePrevious(executable, previous)).toBe(true);
    expect(readFileSync(executable, "utf8")).toBe("old");
    expect(await restorePrevious(executable, previous)).toBe(false);
    expect(readFileSync(executable, "utf8")).toBe("old");
  });

  it("a second update replaces the kept previous file", async () => {
    const { executable, staged } = setup();
    await swapExecutable(executable, staged);
    writeFileSync(staged, "newer");
    const { previous } = await swapExecutable(executable, staged);
    expect(readFileSync(previous, "utf8")).toBe("new");
    expect(readFileSync(executable, "utf8")).toBe("newer");
  });

  // install.sh (as root) writes the executable into the service's directory; the kernel's
  // protected_hardlinks then refuses the Node (another user) a hard link to it. Needs root to set up.
  it.skipIf(process.getuid?.() !== 0)("another user's executable in its own directory: kept as a copy instead", () => {
    const dir = mkdtempSync(join(tmpdir(), "swap-owner-"));
    try {
      chmodSync(dir, 0o755);
      const nobody = 65534;
      const executable = join(dir, "fabricore-node");
      writeFileSync(executable, "old", { mode: 0o755 });
      const staged = stagingPath(executable);
      writeFileSync(staged, "new", { mode: 0o600 });
      chownSync(staged, nobody, nobody);
      chownSync(dir, nobody, nobody);
      const module = fileURLToPath(new URL("./swap-executable.ts", import.meta.url));
      const run = spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const { swapExecutable } = await import(${JSON.stringify(module)});
           await swapExecutable(${JSON.stringify(executable)}, ${JSON.stringify(staged)});`,
        ],
        { uid: nobody, gid: nobody, encoding: "utf8" },
      );
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(executable, "utf8")).toBe("new");
      expect(readFileSync(previousPath(executable), "utf8")).toBe("old");
      expect(statSync(previousPath(executable)).mode & 0o777).toBe(0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
