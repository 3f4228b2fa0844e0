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
import { openSignedInPages } from "../support/ui-pages.ts";

/**
 * Issue 22.7's rest, in Chromium against a real Core and the compiled Node: the audit log reads as
 * sentences whose names link to their pages, without the UI's own session token use unless asked;
 * Jobs as cards on a phone, with the last run's status on screen at 390 px.
 */

const haveChromium = chromiumAvailable("audit and jobs UI e2e");

/** The first turn runs `df -h /` on the job's Node; then the answer. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string }> };
  if (!body.messages.some((m) => m.role === "tool"))
    return turn.toolCalls([{ name: "exec_command", arguments: { command: "df -h /" } }]);
  return turn.text("Disks are fine: / is 41% full.");
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
const procs: NodeProc[] = [];
let browser: Browser;
let page: Page;
let phonePage: Page;
const pageErrors: string[] = [];
let nodeId = "";
let jobId = "";
let runId = "";

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  browser = await launchChromium();
  ({ page, phonePage } = await openSignedInPages(browser, core.url, {
    errors: pageErrors,
    desktopHeight: 900,
    timeoutMs: 10_000,
  }));
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "web-1", labels: { env: "prod" } });
  nodeId = created.id;
  procs.push(startNode(core.url, created.token, ["--allow-shell"]));
  await api.waitNodeOnline(nodeId);
  const job = await api.ok("POST", "/api/jobs", {
    name: "nightly-disk",
    prompt: "Check the disks.",
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    tools: ["exec_command"],
    schedule: { cron: "0 3 * * *", timezone: "UTC" },
  });
  jobId = job.id;
  runId = (await api.ok("POST", `/api/jobs/${jobId}/run`, {})).runId;
  expect((await api.waitRun(runId)).status).toBe("succeeded");
  // An API token that is used: its use stays in the default view (only sessions' uses are hidden).
  const token = await api.ok("POST", "/api/tokens", { name: "ci-bot" });
  expect((await fetch(`${core.url}/api/auth/me`, { headers: { authorization: `Bearer ${token.token}` } })).status).toBe(
    200,
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
});

const short = (id: string) => id.replaceAll("-", "").slice(-8);

describe.skipIf(!haveChromium)("the audit log and the jobs list (issue 22.7)", { timeout: 90_000 }, () => {
  it("desktop: entries read as sentences; names link to their pages; session token use hidden until asked", async () => {
    await page.goto(`${core.url}/audit`);
    const table = page.getByTestId("audit-table");
    const sentences = table.getByTestId("audit-sentence");
    const started = sentences.filter({ hasText: `admin started run ${short(runId)} of nightly-disk` });
    await started.waitFor();
    const call = sentences.filter({ hasText: `job nightly-disk ran exec_command on web-1 in run ${short(runId)}` });
    await call.waitFor();
    await sentences.filter({ hasText: "admin used token ci-bot" }).first().waitFor();
    await sentences.filter({ hasText: "admin enrolled Node web-1" }).waitFor();
    await sentences.filter({ hasText: "admin created job nightly-disk" }).waitFor();
    // Details are key/value text, not JSON.
    const callRow = table.locator("tbody tr[data-action='tool.call']", {
      has: page.getByText(`in run ${short(runId)}`),
    });
    await callRow.getByTestId("audit-details").getByText("arguments.command: df -h /").waitFor();
    expect(await table.textContent()).not.toContain('{"');
    // The UI's own sessions used their tokens (the API reports it) but the default view leaves that out.
    const sessionUses = await api.ok("GET", "/api/audit?action=token.use&limit=1000");
    expect(sessionUses.some((e: { detail: { kind?: string } }) => e.detail.kind === "session")).toBe(true);
    expect(await sentences.filter({ hasText: "sign-in session was used" }).count()).toBe(0);
    await screenshot(page, "audit");

    // The Node's name goes to its page; the job's name to the job.
    await call.getByRole("link", { name: "web-1" }).click();
    await page.waitForURL(`${core.url}/nodes/${nodeId}`);
    await page.goBack();
    await started.getByRole("link", { name: "nightly-disk" }).click();
    await page.waitForURL((url) => url.pathname === `/jobs/${jobId}`);
    await page.goBack();
    await started.getByRole("link", { name: `run ${short(runId)}` }).click();
    await page.waitForURL(`${core.url}/runs/${runId}`);
    await page.goBack();

    // The switch shows the sessions' uses (and says so in the URL).
    await page.getByRole("switch", { name: "Show session token use" }).check();
    await page.waitForURL(/sessions=1/);
    await sentences.filter({ hasText: "admin's sign-in session was used" }).first().waitFor();
    await page.getByRole("switch", { name: "Show session token use" }).uncheck();
    await expect
      .poll(() => sentences.filter({ hasText: "sign-in session was used" }).count(), { timeout: 10_000 })
      .toBe(0);

    // The filters still narrow it: by target (this run) and by action.
    await page.getByRole("textbox", { name: "Target" }).fill(runId);
    await page.waitForURL(new RegExp(`target=${runId}`));
    await expect
      .poll(
        async () =>
          new Set(
            await table.locator("tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-action"))),
          ),
      )
      .toEqual(new Set(["run.start"]));
    await page.getByRole("textbox", { name: "Target" }).fill("");
    await page.getByPlaceholder("Any action").fill("token.use");
    await page.keyboard.press("Escape");
    // Asking for token.use by name shows every use, sessions included.
    await sentences.filter({ hasText: "admin's sign-in session was used" }).first().waitFor();
    await sentences.filter({ hasText: "admin used token ci-bot" }).first().waitFor();
  });

  it("phone: the audit log as cards, each a sentence with its outcome", async () => {
    await phonePage.goto(`${core.url}/audit`);
    const cards = phonePage.getByTestId("audit-cards");
    const card = cards
      .getByRole("article")
      .or(cards.locator(".mantine-Card-root"))
      .filter({
        hasText: `admin started run ${short(runId)} of nightly-disk`,
      });
    await card.first().waitFor();
    expect(await phonePage.getByTestId("audit-table").isVisible()).toBe(false);
    const box = await card.first().getByText("ok", { exact: true }).boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    await screenshot(phonePage, "audit-phone");
  });

  it("phone: jobs as cards with the last run's status, trigger, next fire and the Node targets on screen", async () => {
    await phonePage.goto(`${core.url}/jobs`);
    const card = phonePage
      .getByRole("article", { name: "Job nightly-disk" })
      .or(phonePage.getByTestId("job-cards").locator(".mantine-Card-root", { hasText: "nightly-disk" }));
    await card.first().waitFor();
    expect(await phonePage.getByTestId("jobs-table").isVisible()).toBe(false);
    const status = card.first().getByRole("link", { name: "Last run: succeeded" });
    await status.waitFor();
    const box = await status.boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    await card
      .first()
      .getByText("At 03:00")
      .or(card.first().getByText(/03:00|3:00/))
      .first()
      .waitFor();
    await card.first().getByText("Next:").waitFor();
    await card.first().getByTestId("job-node-targets").getByText("web-1").waitFor();
    // The page does not scroll sideways.
    const width = await phonePage.evaluate<number>("document.documentElement.scrollWidth");
    expect(width).toBeLessThanOrEqual(390);
    await screenshot(phonePage, "jobs-phone");
    await status.click();
    await phonePage.waitForURL(`${core.url}/runs/${runId}`);
  });

  it("desktop: the jobs table names the Node targets too", async () => {
    await page.goto(`${core.url}/jobs`);
    const table = page.getByTestId("jobs-table");
    await table.getByTestId("job-node-targets").getByText("web-1").waitFor();
    await table.getByRole("link", { name: "Last run: succeeded" }).waitFor();
  });

  it("no uncaught page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
