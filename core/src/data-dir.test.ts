import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dataDirWarnings } from "./data-dir.ts";
import { startTestCore } from "./testing/test-core.ts";

/** Issue 21.4: the data dir was 0755 and the database 0644 (world-readable transcripts). */

const mode = (path: string) => statSync(path).mode & 0o777;
const made: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "fabricore-modes-"));
  made.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("data dir modes (issue 21.4)", () => {
  it("a new data dir is 0700 and every file the Core makes in it 0600, even under umask 022", async () => {
    const previous = process.umask(0o022);
    try {
      const dataDir = join(scratch(), "nested", "data");
      const t = await startTestCore({ dataDir });
      const admin = await t.login();
      // A write, so the WAL holds something and -shm exists.
      expect((await t.api(admin, "POST", "/api/secrets", { name: "db_password", value: "hunter22-x" })).status).toBe(
        201,
      );
      expect(mode(dataDir)).toBe(0o700);
      const files = readdirSync(dataDir).sort();
      expect(files).toEqual(
        expect.arrayContaining(["fabricore.db", "fabricore.db-wal", "fabricore.db-shm", "master.key"]),
      );
      for (const file of files) expect([file, mode(join(dataDir, file))]).toEqual([file, 0o600]);
      expect(t.logLines.join("\n")).not.toContain("readable by other users");
      await t.close();
    } finally {
      process.umask(previous);
    }
  });

  it("warns at start, naming each path and the chmod, when the dir or a file in it is wider", async () => {
    const dataDir = join(scratch(), "data");
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, "fabricore.db"), "");
    chmodSync(join(dataDir, "fabricore.db"), 0o644);
    expect(dataDirWarnings(dataDir)).toEqual([
      `${dataDir} is mode 0755 (chmod 700 ${dataDir})`,
      `${join(dataDir, "fabricore.db")} is mode 0644 (chmod 600 ${join(dataDir, "fabricore.db")})`,
    ]);
    const t = await startTestCore({ dataDir });
    const warning = t.logLines.find((line) => line.includes("readable by other users"));
    expect(warning).toBeDefined();
    expect(warning).toContain("chmod 600");
    // Reported, not changed: the operator decides.
    expect(mode(dataDir)).toBe(0o755);
    await t.close();
  });

  it("no warning for a missing dir or a private one", () => {
    const dir = scratch();
    expect(dataDirWarnings(join(dir, "absent"))).toEqual([]);
    chmodSync(dir, 0o700);
    writeFileSync(join(dir, "f"), "", { mode: 0o600 });
    expect(dataDirWarnings(dir)).toEqual([]);
  });
});
