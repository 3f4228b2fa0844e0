/**
 * "A schedule never silently stops firing" (issue 8): the real Core process is killed across a
 * schedule's fire times and restarted; the job's misfire policy decides between exactly one
 * catch-up run and a recorded skip, and the schedule shows its last fire and why it missed.
 */

import { turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiClient, type CoreHandle, startCore, waitFor } from "./support/harness.ts";

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;

beforeAll(async () => {
  llm = await startScriptedOpenAiServer({ script: () => turn.text("done") });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
}, 60_000);

afterAll(async () => {
  await core?.proc.stop();
  await llm?.close();
});

describe("schedule misfires", () => {
  it("runs once to catch up, or skips, after the Core was down across fire times", async () => {
    const model = { provider: "LM Studio", model: "qwen2.5-7b-instruct" };
    const catchUp = await api.ok("POST", "/api/jobs", {
      name: "catch-up",
      prompt: "tick",
      model,
      schedule: { cron: "*/2 * * * * *", timezone: "UTC", misfire: "run_once" },
    });
    const skip = await api.ok("POST", "/api/jobs", {
      name: "skipper",
      prompt: "tick",
      model,
      schedule: { cron: "*/2 * * * * *", timezone: "UTC", misfire: "skip" },
    });
    // Both fire at least once, so the Core knows their last fire.
    for (const job of [catchUp, skip]) {
      await waitFor(
        `${job.name} to fire`,
        async () => (await api.ok("GET", `/api/runs?jobId=${job.id}`)).length > 0,
        10_000,
      );
    }
    await core.proc.stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 6500)); // three fire times pass with no Core
    core = await startCore({ dataDir: core.dataDir, port: core.port });
    api = await new ApiClient(core.url).login();

    const runsOf = async (jobId: string) => (await api.ok("GET", `/api/runs?jobId=${jobId}&limit=500`)) as any[];
    const caughtUp = await waitFor("the catch-up run", async () => {
      const runs = await runsOf(catchUp.id);
      return runs.find((r) => r.input?.catchUp === true);
    });
    expect(caughtUp.trigger).toBe("cron");
    await new Promise((r) => setTimeout(r, 2500));
    expect((await runsOf(catchUp.id)).filter((r) => r.input?.catchUp === true)).toHaveLength(1);
    expect((await runsOf(skip.id)).filter((r) => r.input?.catchUp === true)).toHaveLength(0);

    const skipView = await api.ok("GET", `/api/jobs/${skip.id}`);
    expect(skipView.schedule.lastMisfireReason).toMatch(/missed .* skipped by the job's misfire policy/);
    expect(skipView.schedule.lastFireAt).toBeTruthy();
    expect(skipView.schedule.nextFireAt).toBeTruthy();
    const catchUpView = await api.ok("GET", `/api/jobs/${catchUp.id}`);
    expect(catchUpView.schedule.lastMisfireReason).toMatch(/ran once to catch up/);
    // And the schedules keep firing after the restart.
    await waitFor(
      "a regular fire after the restart",
      async () => (await runsOf(skip.id)).some((r) => r.createdAt > skipView.schedule.lastMisfireAt),
      10_000,
    );
    for (const job of [catchUp, skip]) await api.ok("PATCH", `/api/jobs/${job.id}`, { enabled: false });
  }, 60_000);
});
