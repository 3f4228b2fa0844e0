import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
});
