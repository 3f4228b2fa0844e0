import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { readEvents as readSse } from "../testing/sse.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import { InFlightCalls } from "./in-flight.ts";

/** Issue 22.2: a browser that opens a run while a tool call is in flight is told about that call
 * (the `tool` event is live-only), with when it started so the page can tick its duration. */

describe("InFlightCalls", () => {
  it("keeps the model request and unanswered calls; a step or done removes them", () => {
    const calls = new InFlightCalls();
    calls.record("r", { type: "model", provider: "p", model: "m", attempt: 1 });
    expect(calls.snapshot("r")).toEqual([{ type: "model", provider: "p", model: "m", attempt: 1 }]);
    calls.record("r", { type: "tool", tool: "a", node: "n", callId: "c1", arguments: {} });
    calls.record("r", { type: "tool", tool: "b", node: "n", callId: "c2", arguments: {} });
    expect(calls.snapshot("r").map((e) => e.type === "tool" && e.callId)).toEqual(["c1", "c2"]);
    calls.record("r", { type: "step", seq: 3, step: { type: "tool", callId: "c1" } });
    expect(calls.snapshot("r").map((e) => e.type === "tool" && e.callId)).toEqual(["c2"]);
    calls.record("r", { type: "done", status: "succeeded" });
    expect(calls.snapshot("r")).toEqual([]);
    // A step of a run never announced here (another replica's, before this one started) is ignored.
    calls.record("x", { type: "step", seq: 1, step: { type: "llm" } });
    expect(calls.snapshot("x")).toEqual([]);
  });

  it("keeps the latest progress of a call, after it in the snapshot, until the call's step", () => {
    const calls = new InFlightCalls();
    calls.record("r", { type: "tool", tool: "long", node: "n", callId: "c1", arguments: {} });
    calls.record("r", { type: "progress", callId: "c1", progress: 1, total: 10 });
    calls.record("r", { type: "progress", callId: "c1", progress: 3, total: 10, message: "three" });
    // Progress of a call not in flight here is ignored.
    calls.record("r", { type: "progress", callId: "nope", progress: 1 });
    expect(calls.snapshot("r")).toEqual([
      { type: "tool", tool: "long", node: "n", callId: "c1", arguments: {} },
      { type: "progress", callId: "c1", progress: 3, total: 10, message: "three" },
    ]);
    calls.record("r", { type: "step", seq: 2, step: { type: "tool", callId: "c1" } });
    expect(calls.snapshot("r")).toEqual([]);
  });

  it("a model that starts thinking is no longer waiting (its queued status is not replayed)", () => {
    const calls = new InFlightCalls();
    calls.record("r", { type: "model", provider: "p", model: "m", attempt: 1 });
    calls.record("r", {
      type: "model_status",
      provider: "p",
      model: "m",
      status: { state: "queued", ahead: 1, limit: 1 },
    });
    expect(calls.waiting("r")).toHaveLength(2);
    calls.record("r", { type: "reasoning", text: "Let me think." });
    expect(calls.waiting("r")).toEqual([]);
  });

  it("forgets a run idle for hours (its replica died before `done`)", () => {
    let now = 0;
    const calls = new InFlightCalls(() => now);
    calls.record("old", { type: "tool", tool: "a", node: "n", callId: "c", arguments: {} });
    now = 7 * 60 * 60 * 1000;
    calls.record("new", { type: "tool", tool: "a", node: "n", callId: "c", arguments: {} });
    expect(calls.snapshot("old")).toEqual([]);
    expect(calls.snapshot("new")).toHaveLength(1);
  });
});

let t: TestCore;
let base: string;
let admin: string;

beforeAll(async () => {
  // The model calls `hang` (waits until the run is cancelled) once, then would answer.
  // By prompt: EXEC runs a command that prints, sleeps, prints; anything else calls `hang` (waits
  // until the run is cancelled). Then the model answers.
  const model = new RecordingLlmClient((request) => {
    if (request.messages.some((m) => m.role === "tool")) return { text: "done" };
    if (JSON.stringify(request.messages).includes("LEAK")) {
      const leak = "sh -c 'echo token=s3cr3t-value-for-the-test; sleep 1'";
      return { text: "", toolCalls: [{ name: "exec_command", arguments: JSON.stringify({ command: leak }) }] };
    }
    const exec = JSON.stringify(request.messages).includes("EXEC");
    const command = "sh -c 'echo first-line; echo to-stderr >&2; sleep 2; echo second-line'";
    return exec
      ? { text: "", toolCalls: [{ name: "exec_command", arguments: JSON.stringify({ command }) }] }
      : { text: "", toolCalls: [{ name: "hang", arguments: "{}" }] };
  });
  t = await startTestCore({ llm: () => model });
  base = (await t.core.listen()).replace("0.0.0.0", "127.0.0.1");
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", {
    name: "fake",
    kind: "openai-compatible",
    baseUrl: "http://127.0.0.1:9",
  });
  await t.connectNode("box-1");
});

afterAll(async () => {
  await t?.close();
});

/** The run's event stream, read as the admin. */
function readEvents(url: string, until: (event: string, data: unknown) => boolean, timeoutMs = 5_000) {
  return readSse(url, admin, until, timeoutMs);
}

describe("GET /api/runs/:id/events opened mid-call", () => {
  it("replays the call in flight (tool, Node, arguments, startedAt) after the stored steps, once", async () => {
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "long-call",
      prompt: "Wait for the slow tool.",
      model: { provider: "fake", model: "m" },
      nodes: ["box-1"],
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const runId = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId as string;
    // Wait until the model step is stored and the call has gone to the Node.
    const end = Date.now() + 5_000;
    while (t.core.ctx.events.inFlight(runId).every((e) => e.type !== "tool")) {
      if (Date.now() > end) throw new Error("the tool call never started");
      await new Promise((r) => setTimeout(r, 20));
    }
    const before = Date.now();
    const events = await readEvents(`${base}/api/runs/${runId}/events`, (event) => event === "status");
    const names = events.map((e) => e.event);
    expect(names).toEqual(["step", "tool", "status"]);
    const tool = events[1]!.data as Record<string, unknown>;
    expect(tool).toMatchObject({ tool: "hang", node: "box-1", arguments: {} });
    expect(typeof tool.callId).toBe("string");
    expect(Date.parse(String(tool.startedAt))).toBeLessThanOrEqual(before);
    expect(events[2]!.data).toMatchObject({ status: "running" });

    // Once the call is answered (here: cancelled), a new subscriber is told of no call in flight.
    await t.api(admin, "POST", `/api/runs/${runId}/cancel`);
    const after = await readEvents(`${base}/api/runs/${runId}/events`, (event) => event === "done");
    expect(after.map((e) => e.event)).not.toContain("tool");
  });
});

describe("exec_command's output while it runs", () => {
  it("reaches subscribers live, and a late subscriber gets the output so far with the call", async () => {
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "printing-call",
      prompt: "EXEC: run the command.",
      model: { provider: "fake", model: "m" },
      nodes: ["box-1"],
    });
    expect(job.status, JSON.stringify(job.body)).toBe(201);
    const runId = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId as string;
    const end = Date.now() + 5_000;
    while (!t.core.ctx.events.inFlight(runId).some((e) => e.type === "output" && e.text.includes("first-line"))) {
      if (Date.now() > end) throw new Error("no live output arrived");
      await new Promise((r) => setTimeout(r, 20));
    }
    // Opened mid-call: the call, its output so far, then the rest live, then its step.
    const events = await readEvents(
      `${base}/api/runs/${runId}/events`,
      (event, data) => event === "step" && (data as { type?: string }).type === "tool",
      10_000,
    );
    const names = events.map((e) => e.event);
    expect(names.slice(0, 2)).toEqual(["step", "tool"]);
    const outputs = events.filter((e) => e.event === "output").map((e) => e.data as Record<string, string>);
    const callId = (events[1]!.data as { callId: string }).callId;
    expect(outputs.every((o) => o.callId === callId)).toBe(true);
    expect(outputs[0]).toMatchObject({ stream: "stdout", text: "first-line\n" });
    expect(
      outputs
        .filter((o) => o.stream === "stderr")
        .map((o) => o.text)
        .join(""),
    ).toBe("to-stderr\n");
    expect(
      outputs
        .filter((o) => o.stream === "stdout")
        .map((o) => o.text)
        .join(""),
    ).toBe("first-line\nsecond-line\n");
    // The live output came before the step that carries the whole result.
    expect(names.lastIndexOf("output")).toBeLessThan(names.lastIndexOf("step"));
    const step = events.at(-1)!.data as { result: { structuredContent: { stdout: string } } };
    expect(step.result.structuredContent.stdout).toBe("first-line\nsecond-line\n");
  });
});

describe("live output and secrets", () => {
  it("a secret's value in the live output is redacted before it is published", async () => {
    expect(
      (await t.api(admin, "POST", "/api/secrets", { name: "TEST_TOKEN", value: "s3cr3t-value-for-the-test" })).status,
    ).toBe(201);
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "leaky-call",
      prompt: "LEAK: run it.",
      model: { provider: "fake", model: "m" },
      nodes: ["box-1"],
    });
    const runId = (await t.api(admin, "POST", `/api/jobs/${job.body.id}/run`, {})).body.runId as string;
    const published: string[] = [];
    const unsubscribe = t.core.ctx.events.subscribe(runId, (e) => {
      if (e.type === "output") published.push(e.text);
    });
    const end = Date.now() + 8_000;
    while ((await t.api(admin, "GET", `/api/runs/${runId}`)).body.status !== "succeeded") {
      if (Date.now() > end) throw new Error("the run did not finish");
      await new Promise((r) => setTimeout(r, 50));
    }
    unsubscribe();
    expect(published.join("")).toBe("token=[secret:TEST_TOKEN]\n");
  });
});
