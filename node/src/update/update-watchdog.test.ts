import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pendingUpdate } from "./testing/pending-update.ts";
import { markerPath, type PendingUpdate, readMarker, removeMarker, rolledBack, writeMarker } from "./update-marker.ts";
import { runUpdateWatchdog, watchdogCommand, watchdogReadyPath } from "./update-watchdog.ts";

function setup(overrides: Partial<PendingUpdate> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "watchdog-"));
  const marker = pendingUpdate(dir, overrides);
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

  it("told to stop (the unit's SIGTERM) as the new version dies: still restores the previous file", async () => {
    const { file, marker } = setup();
    await writeMarker(file, marker);
    const stopping = new AbortController();
    let alive = true;
    const watch = runUpdateWatchdog(file, "u1", {
      ...quiet,
      pollMs: 1_000,
      stopping: stopping.signal,
      isAlive: () => alive,
      restart: () => {
        throw new Error("not under systemd's stop");
      },
    });
    // systemd signals the control group; the new version exits a moment later.
    stopping.abort();
    setTimeout(() => (alive = false), 100);
    const saved = process.env.INVOCATION_ID;
    process.env.INVOCATION_ID = "unit";
    try {
      expect(await watch).toBe("restored");
    } finally {
      if (saved === undefined) delete process.env.INVOCATION_ID;
      else process.env.INVOCATION_ID = saved;
    }
    expect(readFileSync(marker.executable, "utf8")).toBe("old");
    expect(await readMarker(file)).toMatchObject({ state: "rolledBack" });
  });

  it("told to stop while the new version keeps running: ends after the grace, touching nothing", async () => {
    const { file, marker } = setup();
    await writeMarker(file, marker);
    const stopping = new AbortController();
    stopping.abort();
    const started = Date.now();
    const outcome = await runUpdateWatchdog(file, "u1", {
      ...quiet,
      stopping: stopping.signal,
      stopGraceMs: 200,
      isAlive: () => true,
    });
    expect(outcome).toBe("stopped");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(readFileSync(marker.executable, "utf8")).toBe("new");
    expect(await readMarker(file)).toMatchObject({ state: "pending" });
  });

  it("ignores the marker of another update", async () => {
    const { file, marker } = setup();
    await writeMarker(file, { ...marker, id: "u2" });
    expect(await runUpdateWatchdog(file, "u1", { ...quiet, isAlive: () => false })).toBe("confirmed");
    expect(readFileSync(marker.executable, "utf8")).toBe("new");
  });

  it("the command says it is ready (its SIGTERM handler in place) while it watches, and takes that back when it ends", async () => {
    const { file, marker } = setup({ pid: process.pid });
    await writeMarker(file, marker);
    const ready = watchdogReadyPath(file, "u1");
    const watch = watchdogCommand([file, "u1"]);
    for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(ready, "utf8")).toBe(`${process.pid}\n`);
    expect(process.listeners("SIGTERM").length).toBeGreaterThan(0);
    await removeMarker(file);
    await watch;
    expect(existsSync(ready)).toBe(false);
  });
});
