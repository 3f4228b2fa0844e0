import { chmodSync, chownSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveMounts } from "./container-spec.ts";
import { swappableComponent, verifyMounted } from "./mount-identity.ts";

/** Issue 21.6, defence 1: a mount source below a directory others can change is refused. */

// chown needs root: a non-root machine skips those cases, except under CI=true, where they fail.
const asRoot = process.getuid?.() === 0 || process.env.CI === "true";
const base = realpathSync(mkdtempSync(join(tmpdir(), "fabricore-swap-")));
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

function dir(...parts: string[]): string {
  const path = join(base, ...parts);
  mkdirSync(path, { recursive: true });
  return path;
}

describe("mount sources that could be swapped (issue 21.6)", () => {
  it("a path of directories only root (or the Node's user) can change is accepted", async () => {
    expect(await swappableComponent(dir("safe", "data"))).toBeUndefined();
  });

  it("refuses a source below a world-writable directory without the sticky bit", async () => {
    const data = dir("open", "data");
    chmodSync(join(base, "open"), 0o777);
    expect(await swappableComponent(data)).toMatch(/open is writable by every user \(mode 0777\)/);
    await expect(resolveMounts([{ source: data, target: "/data", readOnly: true }])).rejects.toMatchObject({
      code: "mount_refused",
      message: expect.stringMatching(/could be swapped/),
    });
  });

  it.skipIf(!asRoot)(
    "below a sticky world-writable directory: fine if root owns the entry, refused if another user does",
    async () => {
      const sticky = dir("sticky");
      chmodSync(sticky, 0o1777);
      expect(await swappableComponent(dir("sticky", "mine", "data"))).toBeUndefined();
      const theirs = dir("sticky", "theirs", "data");
      chownSync(join(sticky, "theirs"), 1000, 1000);
      expect(await swappableComponent(theirs)).toMatch(/owned by uid 1000/);
    },
  );

  it.skipIf(!asRoot)("refuses a directory owned by, or group-writable for, another user", async () => {
    const owned = dir("owned", "data");
    chownSync(join(base, "owned"), 1000, 0);
    expect(await swappableComponent(owned)).toMatch(/owned by uid 1000/);
    const group = dir("group", "data");
    chownSync(join(base, "group"), 0, 1000);
    chmodSync(join(base, "group"), 0o775);
    expect(await swappableComponent(group)).toMatch(/writable by group 1000/);
  });

  it("verifyMounted fails when the directory at the target is not the checked one", async () => {
    // This process's own root stands in for a container's: /proc/self/root + base is base itself.
    const checked = dir("checked");
    const other = dir("other");
    const stats = statSync(checked);
    await expect(
      verifyMounted(process.pid, [{ source: checked, target: checked, dev: stats.dev, ino: stats.ino }]),
    ).resolves.toBeUndefined();
    await expect(
      verifyMounted(process.pid, [{ source: checked, target: other, dev: stats.dev, ino: stats.ino }]),
    ).rejects.toMatchObject({
      code: "mount_refused",
      message: expect.stringMatching(/was replaced between the check/),
    });
  });
});
