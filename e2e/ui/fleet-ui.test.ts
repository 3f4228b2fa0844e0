import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "../support/browser.ts";
import { fleetScript } from "../support/fleet.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
} from "../support/harness.ts";

const haveChromium = chromiumAvailable("fleet UI e2e");

let llm: Awaited<ReturnType<typeof startScriptedOpenAiServer>>;
let core: CoreHandle;
let api: ApiClient;
const procs: Record<string, NodeProc> = {};
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await screenshot(page, name);
}

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script: fleetScript });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  for (const [name, labels, args] of [
    ["web-1", { env: "prod", role: "web" }, ["--allow-shell"]],
    ["web-2", { env: "prod", role: "web" }, ["--allow-shell"]],
    ["db-1", { env: "prod", role: "db" }, []],
    ["cache-1", { env: "prod", role: "cache" }, []],
    ["dev-1", { env: "dev", role: "web" }, []],
  ] as const) {
    const created = await api.ok("POST", "/api/nodes", { name, labels });
    procs[name] = startNode(core.url, created.token, [...args]);
    await api.waitNodeOnline(created.id);
  }
  // Enrolled and then gone: the fan-out must show it skipped, not drop it.
  await procs["cache-1"]!.stop();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(Object.values(procs).map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
});

describe.skipIf(!haveChromium)("fleet jobs in Chromium", { timeout: 60_000 }, () => {
  it("the selector field shows a parse error, then the matching Nodes, live", async () => {
    await page.goto(`${core.url}/login`);
    await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    await page.goto(`${core.url}/jobs/new`);
    // The first load of the app's bundle in this browser: on a machine busy with the other suite it
    // can take longer than the page's 10 s default. If it never comes, say where the page was.
    await page
      .getByRole("textbox", { name: "Name" })
      .waitFor({ timeout: 30_000 })
      .catch((error: Error) => {
        throw new Error(
          `job form not shown at ${page.url()} (page errors: ${pageErrors.join("; ") || "none"}): ${error.message}`,
        );
      });
    await page.getByRole("textbox", { name: "Name" }).fill("prod-disks");
    await page.getByRole("textbox", { name: "Prompt" }).fill("Check disk space and say if this server is in trouble.");
    const selector = page.getByRole("textbox", { name: "Label selector" });
    const asked = page.waitForRequest((r) => r.url().includes("/api/nodes?selector="));
    await selector.pressSequentially("env=prod,role in (web", { delay: 20 });
    // Debounced: typing 21 characters asks once the typing pauses, for the whole text.
    expect(decodeURIComponent((await asked).url().split("selector=")[1]!)).toBe("env=prod,role in (web");
    await page.locator(".mantine-TextInput-error", { hasText: /\d/ }).waitFor();
    await selector.pressSequentially(",db)", { delay: 20 });
    const matches = page.getByTestId("selector-matches");
    await matches.getByText("Matches 3 Nodes now").waitFor();
    for (const name of ["web-1", "web-2", "db-1"]) await matches.getByText(name, { exact: true }).waitFor();
    await selector.fill("env=prod");
    await matches.getByText("Matches 4 Nodes now").waitFor();
    await matches.getByText("cache-1 (offline)").waitFor();
    expect(await matches.getByText("dev-1").count()).toBe(0);
  });

  it("saves a fan-out job through the form", async () => {
    await page.getByTestId("fan-out-switch").check();
    await page.getByRole("textbox", { name: "At most this many Nodes at once" }).fill("2");
    await page.getByPlaceholder(/Model id|Loading models/).fill("qwen2.5-7b-instruct");
    await page.getByRole("heading", { name: "Fleet" }).scrollIntoViewIfNeeded();
    await shot("fleet-job-form");
    await page.getByRole("button", { name: "Create job" }).click();
    // Not /jobs/new itself, which the same pattern matches before the save has landed.
    await page.waitForURL(/\/jobs\/(?!new$)[^/]+$/);
    await page.getByRole("button", { name: "Run now" }).waitFor();
    const jobs = await api.ok("GET", "/api/jobs");
    const saved = jobs.find((j: { name: string }) => j.name === "prod-disks");
    expect(saved.selector).toBe("env=prod");
    expect(saved.nodes).toEqual([]);
    expect(saved.fanOut).toEqual({ mode: "each", concurrency: 2, stopOnFailure: false, summarize: true });
  });

  it("runs it: the fleet answer on top, one row per Node, the offline one skipped, links to each child", async () => {
    await page.getByRole("button", { name: "Run now" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const table = page.getByTestId("fan-out-children");
    await page
      .getByText(/FLEET ANSWER \(4 servers\)/)
      .first()
      .waitFor({ timeout: 30_000 });
    await page.getByTestId("fan-out-summary").getByText("3 succeeded").waitFor();
    for (const name of ["web-1", "web-2", "db-1", "cache-1"]) await table.getByText(name, { exact: true }).waitFor();
    await table.getByText("node cache-1 is offline").waitFor();
    await table.getByText(/Report from web-1/).waitFor();
    await shot("fleet-run");
    await page.getByText("Failed or skipped").click();
    await expect.poll(() => table.getByRole("row").count()).toBe(2); // the header and cache-1
    await table.getByText("cache-1", { exact: true }).waitFor();
    await page.getByText("All", { exact: true }).click();
    const row = table.getByRole("row").filter({ hasText: "web-2" });
    await row.getByRole("link", { name: "transcript" }).click();
    await page.getByTestId("parent-run-link").getByText(/web-2/).waitFor();
    await page
      .getByText(/disk-ok-on-web-2/)
      .first()
      .waitFor();
    expect(pageErrors).toEqual([]);
  });
});
