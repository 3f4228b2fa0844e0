import type { RecordedRequest } from "@fabricore/core/llm/testing/script.ts";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "../support/browser.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
} from "../support/harness.ts";
import { signIn } from "../support/ui-pages.ts";

/**
 * Issue 22.1's "or waits, by a job setting", in Chromium against a real Core and the compiled Node:
 * the job form sets "Wait for a Node", a run of that job whose only Node has never connected says
 * on its page what it waits for, and the Node connecting late starts it (the run then uses its tools).
 */

const haveChromium = chromiumAvailable("offline-wait UI e2e");

function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string }> };
  if (!body.messages.some((m) => m.role === "tool")) return turn.toolCalls([{ name: "system_stats", arguments: {} }]);
  return turn.text("db-1 is up; load is low.");
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc | undefined;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
let nodeId = "";
let nodeToken = "";
let jobId = "";

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "db-1" });
  nodeId = created.id;
  nodeToken = created.token;
  const job = await api.ok("POST", "/api/jobs", {
    name: "db-check",
    prompt: "Check db-1.",
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    tools: ["system_stats"],
  });
  jobId = job.id;
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await signIn(page, core.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
});

describe.skipIf(!haveChromium)("a job that waits for its offline Nodes (issue 22.1)", { timeout: 120_000 }, () => {
  it("the form sets the wait (saved as the Core has it); the run page says what it waits for; the Node connecting starts it", async () => {
    await page.goto(`${core.url}/jobs/${jobId}`);
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByText("Wait for a Node", { exact: true }).click();
    const seconds = page.getByRole("textbox", { name: "Wait up to (seconds)" });
    await seconds.fill("300");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect
      .poll(async () => {
        const saved = await api.ok("GET", `/api/jobs/${jobId}`);
        return `${saved.offlineNodes}/${saved.waitForNodesSeconds}`;
      })
      .toBe("wait/300");

    // "Run now" with every target offline says what this job does then: it waits, by its setting.
    await page.getByRole("button", { name: "Run now" }).click();
    const dialog = page.getByRole("dialog", { name: "Every target Node is offline" });
    await dialog.getByText("The run waits up to 300 s for one of them to connect", { exact: false }).waitFor();
    await dialog.getByRole("button", { name: "Run anyway" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const runId = new URL(page.url()).pathname.split("/").pop() as string;
    const alert = page.getByRole("alert").filter({ hasText: "Waiting for db-1" });
    await alert.waitFor();
    await alert.getByText("fails with nodes_offline").waitFor();
    const waiting = await api.ok("GET", `/api/runs/${runId}`);
    expect(waiting.status).toBe("queued");
    expect(waiting.waiting.nodes).toEqual(["db-1"]);
    await page.getByText("Waiting for its Nodes to connect…").waitFor();
    await screenshot(page, "run-waiting");

    node = startNode(core.url, nodeToken);
    const done = await api.waitRun(runId);
    expect(done.status).toBe("succeeded");
    const tools = done.steps.filter((s: { type: string }) => s.type === "tool");
    expect(tools, JSON.stringify(done.steps)).toHaveLength(1);
    expect(tools[0]).toMatchObject({ node: "db-1", isError: false });
    await alert.waitFor({ state: "detached" });
    await page.getByText("db-1 is up; load is low.").first().waitFor();
    expect(pageErrors).toEqual([]);
  });
});
