import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rollBack, startupState } from "./startup-check.ts";
import { markerPath, type PendingUpdate, readMarker, writeMarker } from "./update-marker.ts";

function pending(dir: string, overrides: Partial<PendingUpdate> = {}): PendingUpdate {
  return {
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
}
const tmp = () => mkdtempSync(join(tmpdir(), "startup-check-"));

describe("startupState", () => {
  it("no marker, or an unreadable one: nothing to do", async () => {
    const dir = tmp();
    expect(await startupState(dir, { version: "2.0.0", pid: 1 })).toEqual({ kind: "none" });
    writeFileSync(markerPath(dir), "{not json");
    expect(await startupState(dir, { version: "2.0.0", pid: 1 })).toEqual({ kind: "none" });
  });

  it("the new version, exec'd by the old one (same pid), before the deadline: probation", async () => {
    const dir = tmp();
    await writeMarker(markerPath(dir), pending(dir));
    expect((await startupState(dir, { version: "2.0.0", pid: 4242 })).kind).toBe("probation");
  });

  it("the new version started again by a supervisor (another pid), or past the deadline: roll back", async () => {
    const dir = tmp();
    await writeMarker(markerPath(dir), pending(dir));
    const restarted = await startupState(dir, { version: "2.0.0", pid: 99 });
    expect(restarted).toMatchObject({ kind: "rollback", reason: expect.stringContaining("restarted") });
    await writeMarker(markerPath(dir), pending(dir, { deadline: Date.now() - 1 }));
    expect(await startupState(dir, { version: "2.0.0", pid: 4242 })).toMatchObject({
      kind: "rollback",
      reason: expect.stringContaining("deadline"),
    });
  });

  it("the old version running while the update is pending: recorded as rolled back", async () => {
    const dir = tmp();
    await writeMarker(markerPath(dir), pending(dir));
    const state = await startupState(dir, { version: "1.0.0", pid: 7 });
    expect(state).toMatchObject({ kind: "rolledBack", marker: { state: "rolledBack", sha256: "ab".repeat(32) } });
    expect((await readMarker(markerPath(dir)))?.state).toBe("rolledBack");
  });

  it("rollBack puts the previous file back and records why", async () => {
    const dir = tmp();
    const marker = pending(dir);
    writeFileSync(marker.executable, "new");
    writeFileSync(marker.previous, "old");
    expect(await rollBack(dir, marker, "because")).toBe(true);
    expect(readFileSync(marker.executable, "utf8")).toBe("old");
    expect(await readMarker(markerPath(dir))).toMatchObject({ state: "rolledBack", reason: "because" });
    expect(await rollBack(dir, marker, "again")).toBe(false);
  });
});
