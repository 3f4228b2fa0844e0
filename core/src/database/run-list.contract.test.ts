import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import type { Clock } from "./clock.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });
const unique = (name: string) => `${name}-${randomBytes(4).toString("hex")}`;

// Issue 22.4 on every dialect: the runs list's filters, the models/Nodes each run used (read from
// the steps' JSON in the database), and retention deleting old finished runs with their steps.
describeEachDialect("runs list and retention", (get) => {
  let now = Date.parse("2026-11-01T00:00:00.000Z");
  const clock: Clock = () => new Date(now);
  const repos = () => createRepositories(get().db, box, { clock });

  async function seed() {
    const r = repos();
    const job = await r.jobs.create({ name: unique("job"), prompt: "p", model: { provider: "lm", model: "m" } });
    now = Date.parse("2026-11-01T08:00:00.000Z");
    const cron = await r.runs.create({ jobId: job.id, trigger: "cron" });
    await r.steps.append(cron.id, { type: "llm", data: { provider: "LM Studio", model: "qwen", durationMs: 5 } });
    await r.steps.append(cron.id, { type: "tool", data: { tool: "read_file", node: "web-1", nodeId: "n-web-1" } });
    await r.steps.append(cron.id, { type: "tool", data: { tool: "system_stats", node: "web-1", nodeId: "n-web-1" } });
    await r.steps.append(cron.id, { type: "llm", data: { provider: "openai", model: "gpt-4o-mini", durationMs: 5 } });
    await r.runs.finish(cron.id, { status: "succeeded", output: "Disk 50% full on WEB-1", error: null });
    now = Date.parse("2026-11-03T08:00:00.000Z");
    const manual = await r.runs.create({ jobId: job.id, trigger: "manual" });
    await r.steps.append(manual.id, {
      type: "tool",
      data: {
        tool: "exec_command",
        node: "db-1",
        nodeId: "n-db-1",
        arguments: { command: "mount" },
        result: { content: [{ type: "text", text: "/dev/VDA1 on /srv type ext4" }], isError: false, durationMs: 3 },
      },
    });
    await r.runs.finish(manual.id, { status: "failed", output: null, error: "every target Node is offline (db-1)" });
    return { r, job, cron, manual };
  }

  it("filters by trigger, date range, Node and text; a LIKE wildcard in the text is literal", async () => {
    const { r, job, cron, manual } = await seed();
    const ids = async (q: Parameters<typeof r.runs.list>[0]) =>
      (await r.runs.list({ jobId: job.id, ...q })).map((x) => x.id);
    expect(await ids({})).toEqual([manual.id, cron.id]);
    expect(await ids({ trigger: "cron" })).toEqual([cron.id]);
    expect(await ids({ since: "2026-11-02T00:00:00.000Z" })).toEqual([manual.id]);
    expect(await ids({ until: "2026-11-02T00:00:00.000Z" })).toEqual([cron.id]);
    expect(await ids({ nodeId: "n-db-1" })).toEqual([manual.id]);
    expect(await ids({ nodeId: "n-web-1" })).toEqual([cron.id]);
    expect(await ids({ q: "web-1" })).toEqual([cron.id]);
    expect(await ids({ q: "OFFLINE" })).toEqual([manual.id]);
    expect(await ids({ q: "50%" })).toEqual([cron.id]);
    expect(await ids({ q: "5_%" })).toEqual([]);
    // Inside a tool's result, case-insensitive; not its arguments.
    expect(await ids({ q: "/dev/vda1 on /srv" })).toEqual([manual.id]);
    expect(await ids({ q: "mount" })).toEqual([]);
  });

  it("summaries: each run's models and Nodes, each once, in first-use order", async () => {
    const { r, cron, manual } = await seed();
    const summary = await r.steps.summaries([cron.id, manual.id, "no-such-run"]);
    expect(summary.get(cron.id)).toEqual({ models: ["LM Studio / qwen", "openai / gpt-4o-mini"], nodes: ["web-1"] });
    expect(summary.get(manual.id)).toEqual({ models: [], nodes: ["db-1"] });
    expect(summary.has("no-such-run")).toBe(false);
    expect((await r.steps.summaries([])).size).toBe(0);
  });

  it("retention deletes finished runs that ended before the cut with their steps; a parent goes with its children", async () => {
    const { r, job, cron, manual } = await seed();
    now = Date.parse("2026-11-04T00:00:00.000Z");
    const running = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const parent = await r.runs.create({ jobId: job.id, trigger: "manual" });
    const [child] = await r.runs.createChildren(parent, [{ nodeId: "n1", nodeName: "web-1" }]);
    await r.runs.finish(child!.id, { status: "succeeded", output: "ok", error: null });
    await r.runs.finish(parent.id, { status: "succeeded", output: "ok", error: null });

    expect(await r.runs.pruneFinishedBefore("2026-11-02T00:00:00.000Z")).toBe(1);
    expect(await r.runs.get(cron.id)).toBeUndefined();
    expect(await r.steps.list(cron.id)).toEqual([]);
    expect(await r.runs.get(manual.id)).toBeDefined();

    expect(await r.runs.pruneFinishedBefore("2026-12-01T00:00:00.000Z", 1)).toBe(1); // manual (oldest first)
    expect(await r.runs.pruneFinishedBefore("2026-12-01T00:00:00.000Z")).toBe(2); // parent and its child
    expect(await r.runs.get(child!.id)).toBeUndefined();
    expect(await r.runs.get(running.id)).toBeDefined(); // not finished: kept whatever its age
    expect(await r.runs.pruneFinishedBefore("2026-12-01T00:00:00.000Z")).toBe(0);
  });
});
