import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { SecretsError } from "./errors.ts";
import { loadMasterKey } from "./master-key.ts";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "fabricore-key-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("loadMasterKey", () => {
  it("generates <dataDir>/master.key once, mode 0600, and reuses it", () => {
    const dataDir = join(tempDir(), "nested", "data");
    const first = loadMasterKey({ dataDir });
    expect(first).toMatchObject({ source: "file", created: true, path: join(dataDir, "master.key") });
    expect(first.key.length).toBe(32);
    expect(statSync(join(dataDir, "master.key")).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(join(dataDir, "master.key"), "utf8").trim(), "base64").equals(first.key)).toBe(
      true,
    );

    const second = loadMasterKey({ dataDir, env: "" });
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);
  });

  it("prefers FABRICORE_MASTER_KEY and writes no file", () => {
    const dataDir = tempDir();
    const key = randomBytes(32);
    const loaded = loadMasterKey({ dataDir, env: key.toString("base64") });
    expect(loaded).toMatchObject({ source: "env", created: false });
    expect(loaded.key.equals(key)).toBe(true);
    expect(() => statSync(join(dataDir, "master.key"))).toThrow();
  });

  it("rejects an env key that is not base64 of exactly 32 bytes, naming the variable", () => {
    const dataDir = tempDir();
    for (const bad of [randomBytes(16).toString("base64"), randomBytes(33).toString("base64"), "not base64 at all!"]) {
      expect(() => loadMasterKey({ dataDir, env: bad })).toThrow(/FABRICORE_MASTER_KEY.*32 bytes/);
    }
    let caught: unknown;
    try {
      loadMasterKey({ dataDir, env: "abc" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SecretsError);
    expect((caught as SecretsError).code).toBe("invalid_master_key");
  });

  it("refuses a key file of the wrong length instead of replacing it", () => {
    const dataDir = tempDir();
    const path = join(dataDir, "master.key");
    writeFileSync(path, `${randomBytes(24).toString("base64")}\n`, { mode: 0o600 });
    expect(() => loadMasterKey({ dataDir })).toThrow(/24 bytes/);
    // Still the same (wrong) file: never silently regenerated, which would orphan every secret.
    expect(Buffer.from(readFileSync(path, "utf8"), "base64").length).toBe(24);
  });

  it("tightens a key file readable by others back to 0600", () => {
    const dataDir = tempDir();
    const path = join(dataDir, "master.key");
    writeFileSync(path, randomBytes(32).toString("base64"), { mode: 0o644 });
    loadMasterKey({ dataDir });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("gives every process the same key when several start at once on an empty data dir", async () => {
    const dataDir = tempDir();
    const module = fileURLToPath(new URL("./master-key.ts", import.meta.url));
    const script = `const { loadMasterKey } = await import(${JSON.stringify(module)});
      process.stdout.write(loadMasterKey({ dataDir: process.argv[1] }).key.toString("base64"));`;
    const keys = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ["--input-type=module", "-e", script, dataDir]);
            let out = "";
            let err = "";
            child.stdout.on("data", (d: Buffer) => {
              out += d.toString();
            });
            child.stderr.on("data", (d: Buffer) => {
              err += d.toString();
            });
            child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
          }),
      ),
    );
    expect(new Set(keys).size).toBe(1);
    expect(Buffer.from(keys[0] ?? "", "base64").length).toBe(32);
    expect(readFileSync(join(dataDir, "master.key"), "utf8").trim()).toBe(keys[0]);
  });
});
