/**
 * Issue 21.4 with the real Core process (`node core/src/main.ts`, umask 077 at start): the data
 * dir it creates is 0700 and everything in it 0600, the WAL included; a database file left
 * world-readable is named in a warning at the next start.
 */
import { chmodSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ApiClient, type CoreHandle, startCore, tempDir } from "./support/harness.ts";

const mode = (path: string) => statSync(path).mode & 0o777;
let core: CoreHandle | undefined;

afterAll(async () => {
  await core?.proc.stop();
});

describe("the Core's data dir modes (issue 21.4)", () => {
  it("creates the data dir 0700 and every file 0600, and warns when one is widened", async () => {
    const dataDir = join(tempDir("modes"), "data");
    core = await startCore({ dataDir });
    const api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/secrets", { name: "api_key", value: "sk-live-abcdef123456" });
    await core.proc.stop();
    expect(mode(dataDir)).toBe(0o700);
    const files = readdirSync(dataDir);
    expect(files).toEqual(expect.arrayContaining(["fabricore.db", "master.key"]));
    for (const file of files) expect([file, mode(join(dataDir, file))]).toEqual([file, 0o600]);

    chmodSync(join(dataDir, "fabricore.db"), 0o644);
    core = await startCore({ dataDir, port: core.port });
    await new ApiClient(core.url).login();
    expect(core.proc.output).toContain("readable by other users");
    expect(core.proc.output).toContain(`chmod 600 ${join(dataDir, "fabricore.db")}`);
  });
});
