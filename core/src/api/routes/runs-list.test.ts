import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../../agent/testing/recording-llm-client.ts";
import { RunRetention } from "../../scheduler/run-retention.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** Issue 22.4 through the API: the runs list's filters and columns (models, Nodes, tokens), and
 * FABRICORE_RUN_RETENTION_DAYS' sweep deleting old runs. */

let t: TestCore;
let admin: string;
let jobId: string;
let nodeId: string;
const runIds: string[] = [];

async function until(predicate: () => Promise<boolean>, what: string) {
  const end = Date.now() + 10_000;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  // Each run: one echo call on the Node, then an answer naming the input's `word`.
  const model = new RecordingLlmClient((request) => {
    const word = ["alpha", "beta"].find((w) => JSON.stringify(request.messages).includes(w)) ?? "none";
    return request.messages.some((m) => m.role === "tool")
      ? { text: `report ${word}`, usage: { promptTokens: 10, completionTokens: 3 } }
      : { text: "", toolCalls: [{ name: "echo", arguments: "{}" }], usage: { promptTokens: 7, completionTokens: 2 } };
  });
  t = await startTestCore({ llm: () => model });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
  nodeId = (await t.connectNode("box-1")).id;
  const job = await t.api(admin, "POST", "/api/jobs", {
    name: "listed",
    prompt: "Report.",
    model: { provider: "fake", model: "m1" },
    nodes: [nodeId],
  });
  jobId = job.body.id;
  for (const word of ["alpha", "beta"]) {
    const runId = (await t.api(admin, "POST", `/api/jobs/${jobId}/run`, { input: { word } })).body.runId as string;
    await until(async () => (await t.api(admin, "GET", `/api/runs/${runId}`)).body.status === "succeeded", runId);
    runIds.push(runId);
  }
});

afterAll(async () => {
  await t?.close();
});

describe("GET /api/runs", () => {
  it("each run carries the models and Nodes it used, its tokens and its times", async () => {
    const res = await t.api(admin, "GET", `/api/runs?jobId=${jobId}`);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(2);
    expect(res.body[0]).toMatchObject({
      id: runIds[1],
      models: ["fake / m1"],
      nodes: ["box-1"],
      usage: { promptTokens: 17, completionTokens: 5 },
      errorCode: null,
    });
    expect(res.body[0].finishedAt >= res.body[0].startedAt).toBe(true);
  });

  it("filters by trigger, Node, date range and text in the output", async () => {
    const ids = async (query: string) =>
      (await t.api(admin, "GET", `/api/runs?jobId=${jobId}&${query}`)).body.map((r: { id: string }) => r.id);
    expect(await ids("trigger=manual")).toEqual([runIds[1], runIds[0]]);
    expect(await ids("trigger=cron")).toEqual([]);
    expect(await ids(`nodeId=${nodeId}`)).toHaveLength(2);
    expect(await ids("nodeId=some-other-node")).toEqual([]);
    expect(await ids("q=ALPHA")).toEqual([runIds[0]]);
    expect(await ids("since=2000-01-01")).toHaveLength(2);
    expect(await ids(`until=${encodeURIComponent("2000-01-01T00:00:00Z")}`)).toEqual([]);
  });

  it("a bad date or trigger is a 400 naming the field", async () => {
    const bad = await t.api(admin, "GET", "/api/runs?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("since");
    expect((await t.api(admin, "GET", "/api/runs?trigger=telepathy")).status).toBe(400);
  });
});

describe("GET /api/runs/stats", () => {
  it("counts today's runs of the job with their tokens; idle days are zeros", async () => {
    const res = await t.api(admin, "GET", `/api/runs/stats?days=3&jobId=${jobId}`);
    expect(res.status).toBe(200);
    expect(res.body.days).toHaveLength(3);
    const today = new Date().toISOString().slice(0, 10);
    expect(res.body.days[2]).toMatchObject({
      day: today,
      total: 2,
      succeeded: 2,
      failed: 0,
      promptTokens: 34,
      completionTokens: 10,
    });
    expect(res.body.days[2].avgDurationMs).toBeGreaterThanOrEqual(0);
    expect(res.body.days[0]).toMatchObject({ total: 0, avgDurationMs: null });
    expect((await t.api(admin, "GET", "/api/runs/stats")).body.days).toHaveLength(14);
  });

  it("refuses a window of 0 or more than 90 days with a 400 naming the field", async () => {
    for (const days of ["0", "91", "x"]) {
      const res = await t.api(admin, "GET", `/api/runs/stats?days=${days}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.message).toContain("days");
    }
  });
});

describe("run retention", () => {
  it("deletes runs finished more than N days ago with their steps; 0 days keeps everything", async () => {
    const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
    const keep = new RunRetention({ runs: t.core.repos.runs, days: 0, logger });
    expect(await keep.sweep()).toBe(0);
    const soon = new RunRetention({ runs: t.core.repos.runs, days: 30, logger });
    expect(await soon.sweep()).toBe(0); // they finished seconds ago
    const later = new RunRetention({
      runs: t.core.repos.runs,
      days: 30,
      logger,
      now: () => Date.now() + 31 * 24 * 3600_000,
    });
    expect(await later.sweep()).toBe(2);
    expect((await t.api(admin, "GET", `/api/runs/${runIds[0]}`)).status).toBe(404);
    expect(await t.core.repos.steps.list(runIds[0]!)).toEqual([]);
    expect((await t.api(admin, "GET", `/api/runs?jobId=${jobId}`)).body).toEqual([]);
  });
});
