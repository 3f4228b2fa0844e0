import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import SqliteDatabase from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SQLITE_FILE } from "../database/index.ts";
import { NEXT_MASTER_KEY_FILE } from "../secrets/key-ring.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import { rotateMasterKey } from "./key-rotation.ts";

/** SECURITY.md "Secrets at rest": rotate-key re-encrypts everything, survives an interruption. */

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../cli.ts");
const dirs: string[] = [];
const cores: TestCore[] = [];

afterEach(async () => {
  for (const c of cores.splice(0)) await c.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dataDir: string, env: Record<string, string> = {}): Promise<TestCore> {
  const t = await startTestCore({ dataDir, env });
  cores.push(t);
  return t;
}

async function close(t: TestCore): Promise<void> {
  cores.splice(cores.indexOf(t), 1);
  await t.close();
}

/** Three secrets, two provider keys and two webhook secrets: seven sealed values. */
async function seed(t: TestCore) {
  const admin = await t.login();
  for (const [name, value] of [
    ["A", "secret-a-value"],
    ["B", "secret-b-value"],
    ["C", "secret-c-value"],
  ])
    expect((await t.api(admin, "POST", "/api/secrets", { name, value })).status).toBe(201);
  for (const [name, apiKey] of [
    ["p1", "provider-key-1"],
    ["p2", "provider-key-2"],
  ])
    await t.api(admin, "POST", "/api/providers", {
      name,
      kind: "openai",
      apiKey,
      // Sealed too (issue 21.1), so rotated too.
      options: { headers: { "X-Api-Key": `header-of-${name}` } },
    });
  for (const [name, secret] of [
    ["j1", "webhook-secret-1"],
    ["j2", "webhook-secret-2"],
  ])
    await t.api(admin, "POST", "/api/jobs", {
      name,
      prompt: "p",
      model: { provider: "p1", model: "m" },
      webhook: { slug: name, secret },
    });
}

/** Every value decrypts to what was stored (through the repositories, with the Core's key ring). */
async function expectAllReadable(t: TestCore) {
  const r = t.core.repos;
  expect(await r.secrets.getValue("A")).toBe("secret-a-value");
  expect(await r.secrets.getValue("B")).toBe("secret-b-value");
  expect(await r.secrets.getValue("C")).toBe("secret-c-value");
  expect(await r.providers.getApiKey((await r.providers.getByName("p1"))!.id)).toBe("provider-key-1");
  expect(await r.providers.getApiKey((await r.providers.getByName("p2"))!.id)).toBe("provider-key-2");
  expect(await r.providers.getHeaders((await r.providers.getByName("p2"))!.id)).toEqual({
    "X-Api-Key": "header-of-p2",
  });
  expect(await r.jobs.getWebhookSecret((await r.jobs.getByName("j1"))!.id)).toBe("webhook-secret-1");
  expect(await r.jobs.getWebhookSecret((await r.jobs.getByName("j2"))!.id)).toBe("webhook-secret-2");
}

function envelopeVersions(dataDir: string): number[] {
  const db = new SqliteDatabase(join(dataDir, SQLITE_FILE), { readonly: true });
  try {
    const rows = [
      ...db.prepare("SELECT ciphertext AS c, key_version AS v FROM secrets").all(),
      ...db.prepare("SELECT api_key_ciphertext AS c FROM providers WHERE api_key_ciphertext IS NOT NULL").all(),
      ...db.prepare("SELECT headers_ciphertext AS c FROM providers WHERE headers_ciphertext IS NOT NULL").all(),
      ...db
        .prepare("SELECT webhook_secret_ciphertext AS c FROM jobs WHERE webhook_secret_ciphertext IS NOT NULL")
        .all(),
    ] as Array<{ c: string; v?: number }>;
    return rows.map((row) => {
      const version = Number(/^v1:(\d+):/.exec(row.c)![1]);
      if (row.v !== undefined) expect(row.v).toBe(version);
      return version;
    });
  } finally {
    db.close();
  }
}

describe("rotate-key (SECURITY.md: Secrets at rest)", () => {
  it("interrupted half way, the Core still opens everything; run again, it finishes; the old key is refused", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fabricore-rotate-"));
    dirs.push(dataDir);
    const t1 = await open(dataDir);
    await seed(t1);
    await close(t1);
    const oldKey = readFileSync(join(dataDir, "master.key"), "utf8").trim();
    const newKey = randomBytes(32).toString("base64");

    // Interrupted after three of nine values (as a crash would).
    const t2 = await open(dataDir);
    await expect(
      rotateMasterKey({
        repos: t2.core.repos,
        dataDir,
        newKey,
        onProgress: (done) => {
          if (done === 3) throw new Error("simulated crash");
        },
      }),
    ).rejects.toThrow("simulated crash");
    await close(t2);
    expect(existsSync(join(dataDir, NEXT_MASTER_KEY_FILE))).toBe(true);
    expect(envelopeVersions(dataDir).sort()).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 2]);

    // In between, a Core loads both keys and reads every value.
    const t3 = await open(dataDir);
    await expectAllReadable(t3);
    await close(t3);

    // The second run (the CLI, no key given: it resumes from master.key.next) finishes the job.
    const { stdout } = await run(process.execPath, [CLI, "rotate-key"], {
      env: { ...process.env, FABRICORE_DATA_DIR: dataDir, FABRICORE_LOG_LEVEL: "silent" },
    });
    expect(stdout).toMatch(/version 1 → 2; 6 values re-encrypted now, 3 were already done/);
    expect(envelopeVersions(dataDir)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2]);
    expect(readFileSync(join(dataDir, "master.key"), "utf8").trim()).toBe(newKey);
    expect(existsSync(join(dataDir, NEXT_MASTER_KEY_FILE))).toBe(false);

    const t4 = await open(dataDir);
    await expectAllReadable(t4);
    await close(t4);

    // The retired key no longer starts the Core.
    await expect(startTestCore({ dataDir, env: { FABRICORE_MASTER_KEY: oldKey } })).rejects.toThrow(
      /retired by rotate-key/,
    );
    // Nor does a key the database never saw.
    await expect(
      startTestCore({ dataDir, env: { FABRICORE_MASTER_KEY: randomBytes(32).toString("base64") } }),
    ).rejects.toThrow(/not a key this database was encrypted with/);
  });

  it("with FABRICORE_MASTER_KEY: rotates via FABRICORE_NEW_MASTER_KEY and says the variable must change", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fabricore-rotate-env-"));
    dirs.push(dataDir);
    const key1 = randomBytes(32).toString("base64");
    const key2 = randomBytes(32).toString("base64");
    const t1 = await open(dataDir, { FABRICORE_MASTER_KEY: key1 });
    await seed(t1);
    await close(t1);
    const { stdout } = await run(process.execPath, [CLI, "rotate-key"], {
      env: { ...process.env, FABRICORE_DATA_DIR: dataDir, FABRICORE_MASTER_KEY: key1, FABRICORE_NEW_MASTER_KEY: key2 },
    });
    expect(stdout).toMatch(/9 values re-encrypted/);
    expect(stdout).toMatch(/FABRICORE_MASTER_KEY must now be set to the new key/);
    expect(existsSync(join(dataDir, "master.key"))).toBe(false);
    const t2 = await open(dataDir, { FABRICORE_MASTER_KEY: key2 });
    await expectAllReadable(t2);
  });

  it("refuses a malformed new key, the current key as the new one, and a second rotation to another key", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "fabricore-rotate-bad-"));
    dirs.push(dataDir);
    const t1 = await open(dataDir);
    await seed(t1);
    const current = readFileSync(join(dataDir, "master.key"), "utf8").trim();
    const r = t1.core.repos;
    await expect(rotateMasterKey({ repos: r, dataDir, newKey: "too-short" })).rejects.toThrow(/32 bytes/);
    await expect(rotateMasterKey({ repos: r, dataDir, newKey: current })).rejects.toThrow(/is the current one/);
    await expect(
      rotateMasterKey({
        repos: r,
        dataDir,
        newKey: randomBytes(32).toString("base64"),
        onProgress: () => {
          throw new Error("stop");
        },
      }),
    ).rejects.toThrow("stop");
    await expect(rotateMasterKey({ repos: r, dataDir, newKey: randomBytes(32).toString("base64") })).rejects.toThrow(
      /a rotation to a different key is under way/,
    );
  });
});
