import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { SQLITE_FILE } from "../database/index.ts";
import type { ProviderConfig } from "../llm/index.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * Issue 21.1: a provider's `options.headers` (where gateway keys go) were found verbatim in the
 * SQLite file and WAL, returned to a viewer by GET /api/providers and printed by a tool into a
 * transcript. Now: sealed like API keys, listed by name only, redacted everywhere, still sent.
 */

const GATEWAY_KEY = "gw-live-key-6d1f0b9e2a";
const BEARER = "tok-bearer-93ac1177e0";
const LEGACY_VALUE = "legacy-plain-value-4417";

let t: TestCore | undefined;
let admin: string;
const dataDir = mkdtempSync(join(tmpdir(), "fabricore-headers-"));
const configs: ProviderConfig[] = [];

function fileBytes(dataDir: string): Array<[string, Buffer]> {
  return readdirSync(dataDir)
    .filter((f) => f.startsWith("fabricore.db"))
    .map((f) => [f, readFileSync(join(dataDir, f))]);
}

async function runToEnd(jobId: string) {
  const runId = (await t!.api(admin, "POST", `/api/jobs/${jobId}/run`, {})).body.runId;
  for (let i = 0; i < 300; i++) {
    const run = (await t!.api(admin, "GET", `/api/runs/${runId}`)).body;
    if (["succeeded", "failed"].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("run did not end");
}

beforeAll(async () => {
  t = await startTestCore({
    dataDir,
    llm: (provider) => {
      configs.push(provider);
      // The model has a tool print both header values (arguments and result carry them).
      return new RecordingLlmClient((_request, index) =>
        index === 0
          ? { text: "", toolCalls: [{ name: "echo", arguments: JSON.stringify({ a: GATEWAY_KEY, b: BEARER }) }] }
          : { text: `headers were ${GATEWAY_KEY} and Bearer ${BEARER}` },
      );
    },
  });
  admin = await t!.login();
  await t!.connectNode("web-1");
});

afterAll(async () => {
  await t?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("provider headers are secrets (issue 21.1)", () => {
  let providerId: string;

  it("are accepted, listed by name only, and never returned (a viewer's GET included)", async () => {
    const created = await t!.api(admin, "POST", "/api/providers", {
      name: "gw",
      kind: "openai-compatible",
      baseUrl: "http://127.0.0.1:9/v1",
      options: { timeoutMs: 5000, headers: { "X-Api-Key": GATEWAY_KEY, Authorization: `Bearer ${BEARER}` } },
    });
    expect(created.status).toBe(201);
    providerId = created.body.id;
    expect(created.body.headers).toEqual([
      { name: "X-Api-Key", hasValue: true },
      { name: "Authorization", hasValue: true },
    ]);
    expect(created.body.options).toEqual({ timeoutMs: 5000 });
    const viewer = await t!.userToken("viewer");
    for (const url of ["/api/providers", `/api/providers/${providerId}`]) {
      const text = JSON.stringify((await t!.api(viewer, "GET", url)).body);
      expect(text).not.toContain(GATEWAY_KEY);
      expect(text).not.toContain(BEARER);
      expect(text).toContain("X-Api-Key");
    }
    const audit = JSON.stringify((await t!.api(admin, "GET", "/api/audit?action=provider.create")).body);
    expect(audit).not.toContain(GATEWAY_KEY);
  });

  it("are still sent to the provider, and a tool printing them reaches the transcript redacted", async () => {
    const job = await t!.api(admin, "POST", "/api/jobs", {
      name: "uses-gw",
      prompt: "p",
      model: { provider: "gw", model: "m" },
      nodes: ["web-1"],
      tools: ["echo"],
    });
    const run = await runToEnd(job.body.id);
    expect(run.status).toBe("succeeded");
    const sent = configs.at(-1)?.options?.headers;
    expect(sent).toEqual({ "X-Api-Key": GATEWAY_KEY, Authorization: `Bearer ${BEARER}` });
    const transcript = JSON.stringify(run);
    expect(transcript).not.toContain(GATEWAY_KEY);
    expect(transcript).not.toContain(BEARER);
    expect(transcript).toContain("[secret:provider:gw.X-Api-Key]");
    expect(transcript).toContain("[secret:provider:gw.Authorization]");
    for (const line of t!.logLines) expect(line).not.toContain(GATEWAY_KEY);
  });

  it("are in the database files only encrypted", () => {
    for (const [file, bytes] of fileBytes(dataDir)) {
      expect(bytes.includes(Buffer.from(GATEWAY_KEY)), `${file} holds the header value`).toBe(false);
      expect(bytes.includes(Buffer.from(BEARER)), `${file} holds the bearer token`).toBe(false);
    }
  });

  it("a PATCH of other options keeps them; a PATCH with headers replaces them", async () => {
    const kept = await t!.api(admin, "PATCH", `/api/providers/${providerId}`, { options: { timeoutMs: 9000 } });
    expect(kept.status).toBe(200);
    expect(kept.body.headers.map((h: { name: string }) => h.name)).toEqual(["X-Api-Key", "Authorization"]);
    const replaced = await t!.api(admin, "PATCH", `/api/providers/${providerId}`, {
      options: { timeoutMs: 9000, headers: { "X-Route": "eu-west-zone" } },
    });
    expect(replaced.body.headers).toEqual([{ name: "X-Route", hasValue: true }]);
    expect(await t!.core.repos.providers.getHeaders(providerId)).toEqual({ "X-Route": "eu-west-zone" });
  });
});

describe("headers stored in plain text by an older Core", () => {
  it("are sealed at the next start and the plain text is gone from the files", async () => {
    const db = new SqliteDatabase(join(dataDir, SQLITE_FILE));
    db.prepare(
      "UPDATE providers SET options = ?, headers_ciphertext = NULL, header_names = '[]' WHERE name = 'gw'",
    ).run(JSON.stringify({ timeoutMs: 1, headers: { "X-Old": LEGACY_VALUE } }));
    db.close();
    await t?.close();
    t = undefined;
    const restarted = await startTestCore({ dataDir });
    try {
      const token = await restarted.login();
      const gw = (await restarted.api(token, "GET", "/api/providers")).body.find(
        (p: { name: string }) => p.name === "gw",
      );
      expect(gw.options).toEqual({ timeoutMs: 1 });
      expect(gw.headers).toEqual([{ name: "X-Old", hasValue: true }]);
      expect(await restarted.core.repos.providers.getHeaders(gw.id)).toEqual({ "X-Old": LEGACY_VALUE });
      for (const [file, bytes] of fileBytes(dataDir)) {
        expect(bytes.includes(Buffer.from(LEGACY_VALUE)), `${file} still holds the old plain text`).toBe(false);
      }
    } finally {
      await restarted.close();
    }
  });
});
