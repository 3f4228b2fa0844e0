/**
 * A reasoning model's run in the browser (issue 19): a DeepSeek-R1 distill that thinks in
 * `<think>` tags in its content, on the real Core with a compiled Node. The run page shows each
 * model turn's reasoning folded under "Reasoning", the answer without it, and no tag anywhere.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { thinkTagsTurn } from "@fabricore/core/llm/testing/server-dialects.ts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, ensureUiBuilt, launchChromium, SHOTS, screenshot } from "../support/browser.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type Proc,
  startCore,
  startNode,
  tempDir,
} from "../support/harness.ts";

const haveChromium = chromiumAvailable("reasoning UI e2e");

const MODEL = "deepseek-r1-distill-qwen-14b";
const THOUGHT = "The user asks for the host name. The hostname file on the server holds it, so read it.";
const SECOND = "The file says web1. That is the whole answer.";
const ANSWER = "The host is web1.";
const readRoot = tempDir("reasoning-ui");
const FILE = join(readRoot, "hostname");
writeFileSync(FILE, "web1\n");

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc;
let browser: Browser;
let page: Page;
let jobId: string;

const hasResult = (req: RecordedRequest) =>
  (req.body as { messages: Array<{ role: string }> }).messages.some((m) => m.role === "tool");

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({
    script: (req) =>
      hasResult(req)
        ? // The R1 template opens the block in the prompt: only the closing tag arrives.
          thinkTagsTurn({ reasoning: SECOND, text: ANSWER, openedInPrompt: true })
        : thinkTagsTurn({ reasoning: THOUGHT, calls: [{ name: "read_file", arguments: { path: FILE } }] }),
    models: [{ id: MODEL, loaded: true, contextLength: 16384 }],
    nativeApi: "none",
  });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "llama.cpp", kind: "openai-compatible", baseUrl: llm.baseUrl });
  const enrolled = await api.ok("POST", "/api/nodes", { name: "web-1" });
  node = startNode(core.url, enrolled.token, ["--read-root", readRoot, "--log-level", "warn"]);
  await api.waitNodeOnline(enrolled.id);
  jobId = (
    await api.ok("POST", "/api/jobs", {
      name: "host-name",
      prompt: "What is this server's host name?",
      model: { provider: "llama.cpp", model: MODEL },
      nodes: [enrolled.id],
      tools: ["read_file"],
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
  rmSync(readRoot, { recursive: true, force: true });
});

describe.skipIf(!haveChromium)("a reasoning model's run in the browser", { timeout: 60_000 }, () => {
  it("shows each turn's reasoning folded apart from the answer, and no <think> tag", async () => {
    await page.goto(`${core.url}/login`);
    await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
    const run = await api.waitRun(runId);
    expect(run).toMatchObject({ status: "succeeded", output: ANSWER });
    await page.goto(`${core.url}/runs/${runId}`);
    await page.getByText(THOUGHT).waitFor();
    await page.getByText(SECOND).waitFor();
    expect(await page.getByText("Reasoning", { exact: true }).count()).toBe(2);
    const body = (await page.locator("body").textContent()) ?? "";
    expect(body).toContain(ANSWER);
    expect(body).not.toContain("<think>");
    expect(body).not.toContain("</think>");
    // The answer is shown once, on its own: the reasoning is not part of it.
    const answerBlocks = await page.getByText(ANSWER, { exact: true }).count();
    expect(answerBlocks).toBeGreaterThanOrEqual(1);
    await screenshot(page, "run-reasoning");
    expect(readFileSync(join(SHOTS, "run-reasoning.png")).length).toBeGreaterThan(10_000);
  });
});
