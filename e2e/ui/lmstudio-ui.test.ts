import { turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "../support/browser.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type Proc,
  startCore,
  startNode,
} from "../support/harness.ts";

const haveChromium = chromiumAvailable("LM Studio UI e2e");

const COLD = "qwen3-coder-30b";
let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc;
let browser: Browser;
let page: Page;
let jobId: string;

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({
    script: (req) =>
      (req.body as { messages: Array<{ role: string }> }).messages.some((m) => m.role === "tool")
        ? turn.text("The server is healthy: load is low and the disks have room.", {
            chunkSize: 3,
            chunkDelayMs: 25,
            usage: { promptTokens: 420, completionTokens: 14 },
          })
        : turn.toolCalls([{ name: "system_stats", arguments: {} }]),
    models: [{ id: COLD, loaded: false, contextLength: 4096, maxContextLength: 32768, toolUse: true }],
    apiToken: "sk-lm-ui",
    loadDelayMs: 4_000,
  });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", {
    name: "LM Studio",
    kind: "lmstudio",
    baseUrl: llm.baseUrl,
    apiKey: "sk-lm-ui",
    options: { contextTokens: 16384 },
  });
  const enrolled = await api.ok("POST", "/api/nodes", { name: "web-1" });
  node = startNode(core.url, enrolled.token, ["--log-level", "warn"]);
  await api.waitNodeOnline(enrolled.id);
  jobId = (
    await api.ok("POST", "/api/jobs", {
      name: "health-check",
      prompt: "How is this server doing?",
      model: { provider: "LM Studio", model: COLD },
      nodes: [enrolled.id],
      tools: ["system_stats"],
      maxSteps: 4,
    })
  ).id;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
});

describe.skipIf(!haveChromium)("an LM Studio run in the browser", { timeout: 60_000 }, () => {
  it("shows the model loading while it loads, then each model step's speed", async () => {
    await page.goto(`${core.url}/login`);
    await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
    await page.goto(`${core.url}/runs/${runId}`);
    await page
      .getByText(/Waiting for model LM Studio \/ qwen3-coder-30b: LM Studio is loading it with a 16384-token context/)
      .waitFor();
    if (process.env.FABRICORE_UI_SHOT_LOADING)
      await page.screenshot({ path: process.env.FABRICORE_UI_SHOT_LOADING, animations: "disabled" });
    await api.waitRun(runId);
    const header = page.getByText(/tok\/s · .* to first token/).first();
    await header.waitFor();
    // Both steps have a time to first token; the answer, written at a measurable pace, its rate
    // (the call arrives in one burst, which usually gives none).
    expect(await page.getByText(/to first token/).count()).toBe(2);
    await page.getByText(/model loaded in \d/).waitFor();
    expect(await page.getByText(/\d tok\/s/).count()).toBeGreaterThanOrEqual(1);
    await screenshot(page, "run-lmstudio");
  });
});
