import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { markerPath, type PendingUpdate, readMarker, removeMarker, rolledBack, writeMarker } from "./update-marker.ts";
import { runUpdateWatchdog } from "./update-watchdog.ts";

function setup(overrides: Partial<PendingUpdate> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "watchdog-"));
  const marker: PendingUpdate = {
    version: 1,
    state: "pending",
    id: "u1",
    from: "1.0.0",
    to: "2.0.0",
    sha256: "ab".repeat(32),
    executable: join(dir, "fabricore-node"),
    previous: join(dir, "fabricore-node.previous"),
    pid: 4242,
    argv: ["--core", "http://127.0.0.1:1"],
    deadline: Date.now() + 60_000,
    ...overrides,
  };
  writeFileSync(marker.executable, "new");
  writeFileSync(marker.previous, "old");
  return { dir, file: markerPath(dir), marker };
}
const quiet = { pollMs: 10, log: () => {} };

describe("runUpdateWatchdog", () => {
  it("the new version gone while pending: restores the previous file and starts it with the same argv", async () => {
    const { file, marker } = setup();
    await writeMarker(file, marker);
    const restarts: Array<[string, string[]]> = [];
    const saved = process.env.INVOCATION_ID;
    delete process.env.INVOCATION_ID;
    try {
      const outcome = await runUpdateWatchdog(file, "u1", {
        ...quiet,
        isAlive: () => false,
        restart: (exe, argv) => restarts.push([exe, argv]),
      });
      expect(outcome).toBe("restored");
    } finally {
      if (saved !== undefined) process.env.INVOCATION_ID = saved;
    }
    expect(readFileSync(marker.executable, "utf8")).toBe("old");
    expect(restarts).toEqual([[marker.executable, marker.argv]]);
    expect(await readMarker(file)).toMatchObject({ state: "rolledBack", reason: expect.stringContaining("exited") });
  });

  it("ends without touching anything once the update is confirmed or rolled back by the new version", async () => {
    const { file, marker } = setup();
    await writeMarker(file, marker);
    const watch = runUpdateWatchdog(file, "u1", { ...quiet, isAlive: () => true });
    await removeMarker(file);
    expect(await watch).toBe("confirmed");
    expect(readFileSync(marker.executable, "utf8")).toBe("new");
    await writeMarker(file, rolledBack(marker, "by itself"));
    expect(await runUpdateWatchdog(file, "u1", { ...quiet, isAlive: () => true })).toBe("rolledBack");
  });

  it("ignores the marker of another update", async () => {
    const { file, marker } = setup();
    await writeMarker(file, { ...marker, id: "u2" });
    expect(await runUpdateWatchdog(file, "u1", { ...quiet, isAlive: () => false })).toBe("confirmed");
    expect(readFileSync(marker.executable, "utf8")).toBe("new");
  });
});
