import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import { MIN_REDACTED_LENGTH, SecretRedactor } from "./redactor.ts";

/**
 * SECURITY.md "Secrets in transcripts and logs": a secret's value that reaches a tool result, a
 * tool's arguments or the model's text is stored, streamed and logged as `[secret:NAME]`. The test
 * searches the raw database files, every log line and the transcripts for the value.
 */

const VALUE = 'pa$$w0rd-"quoted"-\\slash-7f3a9c';
const PROVIDER_KEY = "sk-provider-key-0123456789";

let t: TestCore;
let admin: string;
let runId: string;

beforeAll(async () => {
  t = await startTestCore({
    llm: () =>
      new RecordingLlmClient((_request, index) =>
        index === 0
          ? // The model echoes the secret through a tool (arguments and result carry it)…
            { text: `calling with ${VALUE}`, toolCalls: [{ name: "echo", arguments: JSON.stringify({ leak: VALUE }) }] }
          : // …and repeats it and the provider key in its answer.
            { text: `the password is ${VALUE} and the key ${PROVIDER_KEY}` },
      ),
  });
  admin = await t.login();
  await t.connectNode("web-1");
  await t.api(admin, "POST", "/api/providers", {
    name: "p1",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
    apiKey: PROVIDER_KEY,
  });
  expect((await t.api(admin, "POST", "/api/secrets", { name: "DB_PASSWORD", value: VALUE })).status).toBe(201);
  const job = await t.api(admin, "POST", "/api/jobs", {
    name: "leaky",
    prompt: "p",
    model: { provider: "p1", model: "m" },
    nodes: ["web-1"],
    tools: ["echo"],
  });
  runId = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId;
  for (let i = 0; i < 200; i++) {
    const run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    if (run.status === "succeeded" || run.status === "failed") break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // Something logging an object that happens to hold the value (an error with a tool's output).
  t.core.app.log.error({ output: `stderr: ${VALUE}`, nested: { key: PROVIDER_KEY } }, `failed with ${VALUE}`);
});

afterAll(async () => {
  await t?.close();
});

const forms = (v: string) => [v, JSON.stringify(v).slice(1, -1), Buffer.from(v).toString("base64")];

describe("secret redaction (SECURITY.md: Secrets in transcripts and logs)", () => {
  it("the run transcript (GET /api/runs/:id) shows [secret:NAME], never the value", async () => {
    const run = (await t.api(admin, "GET", `/api/runs/${runId}`)).body;
    expect(run.status).toBe("succeeded");
    const text = JSON.stringify(run);
    for (const f of [...forms(VALUE), ...forms(PROVIDER_KEY)]) expect(text).not.toContain(f);
    expect(run.output).toBe("the password is [secret:DB_PASSWORD] and the key [secret:provider:p1]");
    const tool = run.steps.find((s: { type: string }) => s.type === "tool");
    expect(tool.arguments).toEqual({ leak: "[secret:DB_PASSWORD]" });
    expect(JSON.stringify(tool.result)).toContain("[secret:DB_PASSWORD]");
    const llm = run.steps.find((s: { type: string }) => s.type === "llm");
    expect(llm.text).toBe("calling with [secret:DB_PASSWORD]");
  });

  it("the event stream (GET /api/runs/:id/events) carries no value", async () => {
    const res = await t.core.app.inject({
      method: "GET",
      url: `/api/runs/${runId}/events`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.body).toContain("[secret:DB_PASSWORD]");
    for (const f of forms(VALUE)) expect(res.body).not.toContain(f);
  });

  it("no log line carries the value", () => {
    const logs = t.logLines.join("");
    expect(logs).toContain("[secret:DB_PASSWORD]");
    for (const f of [...forms(VALUE), ...forms(PROVIDER_KEY)]) expect(logs).not.toContain(f);
  });

  it("the database files hold the value only encrypted", () => {
    for (const file of readdirSync(t.dataDir).filter((f) => f.startsWith("fabricore.db"))) {
      const bytes = readFileSync(join(t.dataDir, file));
      for (const f of [...forms(VALUE), ...forms(PROVIDER_KEY)]) {
        expect(bytes.includes(Buffer.from(f)), `${file} contains ${f}`).toBe(false);
      }
    }
  });

  it("the redactor: longest value first, JSON-escaped forms, short values left alone", () => {
    const r = new SecretRedactor();
    r.set([
      { name: "SHORT", value: "x".repeat(MIN_REDACTED_LENGTH - 1) },
      { name: "INNER", value: "abcdef" },
      { name: "OUTER", value: "abcdef-123456" },
      { name: "Q", value: 'he said "hi"' },
    ]);
    expect(r.redact("abcdef-123456 abcdef xxxxx")).toBe("[secret:OUTER] [secret:INNER] xxxxx");
    expect(r.redactSerialized(JSON.stringify({ m: 'he said "hi"' }))).toBe('{"m":"[secret:Q]"}');
    expect(r.redactDeep({ abcdef: ["abcdef", 1, null] })).toEqual({
      "[secret:INNER]": ["[secret:INNER]", 1, null],
    });
  });
});
