import { writeFileSync } from "node:fs";
import { join } from "node:path";
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
  tempDir,
} from "../support/harness.ts";
import { openSignedInPages } from "../support/ui-pages.ts";

const haveChromium = chromiumAvailable("operator UI e2e");

const readRoot = tempDir("operator-readroot");
const notesFile = join(readRoot, "maintenance.txt");
/** Long enough for the browser to open the run mid-call and see the duration tick. */
const SLOW_COMMAND = "echo 'Filesystem Use% /'; sleep 5; echo '/dev/sda1 41% /'; echo 'inode warning' >&2";
const ANSWER = "All disks are fine: / is at 41 %. One inode warning on stderr.";

/** By prompt: SLOW runs a five-second command, then answers; STATS checks the server and reads a
 * file, then answers; anything else answers at once. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
  const prompt = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool");
  if (prompt.includes("SLOW")) {
    if (toolResults.length === 0)
      return turn.toolCalls([{ name: "exec_command", arguments: { command: SLOW_COMMAND } }]);
    return turn.text(ANSWER);
  }
  if (prompt.includes("STATS")) {
    if (toolResults.length === 0)
      return turn.toolCalls([
        { name: "system_stats", arguments: {} },
        { name: "read_file", arguments: { path: notesFile } },
      ]);
    return turn.text("Server healthy; maintenance notes read.");
  }
  return turn.text(`Done: ${prompt.slice(0, 40)}`);
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
const procs: NodeProc[] = [];
const ids: Record<string, string> = {};
let browser: Browser;
let page: Page;
let phonePage: Page;
const pageErrors: string[] = [];

async function shot(name: string, target: Page = page): Promise<void> {
  await screenshot(target, name);
}

async function createJob(name: string, prompt: string, nodes: string[], extra: Record<string, unknown> = {}) {
  const job = await api.ok("POST", "/api/jobs", {
    name,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes,
    ...extra,
  });
  ids[name] = job.id;
  return job.id as string;
}

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  writeFileSync(notesFile, "2026-12-01 rotated logs\n2026-12-05 replaced fan\n", { mode: 0o644 });
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  browser = await launchChromium();
  ({ page, phonePage } = await openSignedInPages(browser, core.url, {
    errors: pageErrors,
    desktopHeight: 860,
    timeoutMs: 10_000,
  }));
  // A new install: the dashboard's checklist says what to do first (issue 22.7).
  await page.goto(`${core.url}/`);
  await page.getByTestId("first-run-checklist").getByText("0 of 4 done").waitFor();
  await shot("operator-first-run-checklist");
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  for (const [name, args] of [
    ["web-1", ["--allow-shell", "--read-root", readRoot]],
    ["gone-1", []],
  ] as const) {
    const created = await api.ok("POST", "/api/nodes", { name, labels: { env: "prod" } });
    ids[name] = created.id;
    const proc = startNode(core.url, created.token, [...args]);
    procs.push(proc);
    await api.waitNodeOnline(created.id);
    if (name === "gone-1") await proc.stop();
  }
  // Enrolled, never started: "never connected", not "offline".
  ids["never-1"] = (await api.ok("POST", "/api/nodes", { name: "never-1" })).id;
  await page.goto(`${core.url}/`);
  await page.getByTestId("first-run-checklist").getByText("2 of 4 done").waitFor();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
});

describe.skipIf(!haveChromium)("the operator's UI (issue 22)", { timeout: 90_000 }, () => {
  it("a job whose only Node is offline: the job page says so, Run now asks, the run fails with nodes offline", async () => {
    await expect
      .poll(async () => (await api.ok("GET", `/api/nodes/${ids["gone-1"]}`)).status, { timeout: 15_000 })
      .toBe("offline");
    const jobId = await createJob("disk-on-gone", "Check disk space.", [ids["gone-1"]!]);
    await page.goto(`${core.url}/jobs/${jobId}`);
    const targets = page.getByTestId("target-nodes");
    await targets.getByText("gone-1").waitFor();
    await targets.getByText("offline").waitFor();
    await page
      .getByTestId("targets-offline")
      .getByText(/Every target Node is offline/)
      .waitFor();
    await shot("operator-job-offline-targets");
    await page.getByRole("button", { name: "Run now" }).click();
    const dialog = page.getByRole("dialog", { name: "Every target Node is offline" });
    await dialog.getByText("gone-1").waitFor();
    await shot("operator-run-now-offline-warning");
    await dialog.getByRole("button", { name: "Run anyway" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    await page.getByTestId("run-error-code").getByText("nodes offline").waitFor({ timeout: 20_000 });
    await page.getByText(/every target Node is offline \(gone-1\)/).waitFor();
    await shot("operator-run-nodes-offline");
    const runId = page.url().split("/runs/")[1]!;
    const run = await api.ok("GET", `/api/runs/${runId}`);
    expect(run).toMatchObject({ status: "failed", errorCode: "nodes_offline", steps: [] });
  });

  it("the Nodes page says never connected for a Node that never was", async () => {
    await page.goto(`${core.url}/nodes`);
    const row = page.getByRole("row").filter({ hasText: "never-1" });
    await row.getByText("never connected").waitFor();
    await page.getByRole("row").filter({ hasText: "gone-1" }).getByText("offline").waitFor();
    await shot("operator-nodes-never-connected");
  });

  it("a run page opened mid-call shows the call live, its duration ticking; then the command as a terminal", async () => {
    const jobId = await createJob("slow-disk", "SLOW: check disk space with df.", [ids["web-1"]!]);
    const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
    // Open the page only once the call is on the Node: the `tool` event has already gone out.
    await expect
      .poll(async () => (await api.ok("GET", `/api/runs/${runId}`)).steps.length, { timeout: 15_000 })
      .toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    await page.goto(`${core.url}/runs/${runId}`);
    const live = page.getByTestId("tool-in-flight");
    await live.getByText(/Running exec_command on web-1…/).waitFor();
    const title = async () => (await live.textContent()) ?? "";
    const first = await title();
    await expect.poll(title, { timeout: 4_000 }).not.toBe(first);
    const duration = page.getByTestId("run-duration");
    const before = await duration.textContent();
    await expect.poll(() => duration.textContent(), { timeout: 4_000 }).not.toBe(before);
    // The command's output so far, streamed from the Node while it still sleeps (issue 22.2).
    await live.getByTestId("live-output").getByText("Filesystem Use% /").waitFor();
    expect(await live.getByTestId("live-output").getByText("/dev/sda1 41% /").count()).toBe(0);
    await shot("operator-run-live-tool-call");

    await page.getByText("succeeded", { exact: true }).first().waitFor({ timeout: 20_000 });
    await page.getByText(ANSWER).waitFor();
    expect(await page.getByText(ANSWER).count()).toBe(1);
    await page.getByTestId("final-answer-note").waitFor();
    expect(await page.getByTestId("run-models").textContent()).toBe("LM Studio / qwen2.5-7b-instruct");
    expect(await page.getByTestId("run-nodes").textContent()).toBe("web-1");
    await page.getByRole("button", { name: "exec_command" }).click();
    const exec = page.getByTestId("exec-result");
    await exec.getByTestId("exit-code").getByText("exit 0").waitFor();
    await exec
      .locator('[data-stream="stdout"]')
      .getByText(/\/dev\/sda1 41% \//)
      .waitFor();
    await exec.locator('[data-stream="stderr"]').getByText("inode warning").waitFor();
    expect(await exec.textContent()).not.toContain("\\n");
    await shot("operator-run-exec-terminal");
  });

  it("system_stats as a table and read_file as a file view", async () => {
    const jobId = await createJob("stats-and-notes", "STATS: check the server and read the notes.", [ids["web-1"]!]);
    const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
    await api.waitRun(runId);
    await page.goto(`${core.url}/runs/${runId}`);
    await page.getByRole("button", { name: "system_stats" }).click();
    await page.getByRole("columnheader", { name: "Mount" }).waitFor();
    await page.getByRole("button", { name: "read_file" }).click();
    const file = page.getByTestId("file-result");
    await file.getByText(notesFile).waitFor();
    await file.getByText("2026-12-05 replaced fan").waitFor();
    await file.getByText("2 lines", { exact: false }).waitFor();
    await shot("operator-run-results-by-kind");
    await phonePage.goto(`${core.url}/runs/${runId}`);
    await phonePage.getByRole("button", { name: "read_file" }).click();
    await phonePage.getByTestId("file-result").waitFor();
    await shot("operator-run-results-by-kind-phone", phonePage);
  });

  it("the Runs list: Node(s), model, tokens, duration; filters by trigger, Node and text; Re-run with changed input", async () => {
    await page.goto(`${core.url}/runs`);
    const table = page.getByTestId("runs-table");
    for (const header of ["Node(s)", "Model", "Tokens", "Duration", "Trigger", "Status"])
      await table.getByRole("columnheader", { name: header, exact: true }).waitFor();
    const slowRow = table.getByRole("row").filter({ hasText: "slow-disk" });
    await slowRow.getByText("web-1", { exact: true }).waitFor();
    await slowRow.getByText("LM Studio / qwen2.5-7b-instruct").waitFor();
    await shot("operator-runs-list");

    // Text in the output: only the run whose answer says "inode warning".
    const search = page.getByRole("textbox", { name: "Search", exact: true });
    await search.fill("inode warning");
    await expect.poll(() => table.getByRole("row").count(), { timeout: 5_000 }).toBe(2);
    await slowRow.waitFor();
    expect(page.url()).toContain("q=inode+warning");
    // Text only in a tool's result (the answer does not quote it): the same run.
    await search.fill("/dev/sda1 41%");
    await expect.poll(() => page.url(), { timeout: 5_000 }).toContain("q=%2Fdev%2Fsda1");
    await expect.poll(() => table.getByRole("row").count(), { timeout: 5_000 }).toBe(2);
    await slowRow.waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();
    await expect.poll(() => table.getByRole("row").count(), { timeout: 5_000 }).toBeGreaterThan(3);

    // By Node: gone-1 never ran a tool, so its failed run is not "on" it; web-1 has two runs.
    await page.getByRole("combobox", { name: "Node" }).click();
    await page.getByRole("option", { name: "web-1" }).click();
    await expect.poll(() => table.getByRole("row").count(), { timeout: 5_000 }).toBe(3);
    await page.getByRole("combobox", { name: "Node" }).click();
    await page.getByRole("option", { name: "web-1" }).click(); // deselect
    await page.getByRole("combobox", { name: "Trigger" }).click();
    await page.getByRole("option", { name: "cron" }).click();
    await page.getByText("No runs match").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).click();

    // Re-run with changed input: a new manual run with the edited JSON.
    await slowRow.getByRole("link").first().click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const firstRun = page.url();
    await page.getByRole("button", { name: "Re-run with changed input" }).click();
    const dialog = page.getByRole("dialog", { name: "Re-run with changed input" });
    const input = dialog.getByRole("textbox", { name: "Input" });
    await input.fill("{ not json");
    await dialog.getByRole("button", { name: "Run with this input" }).click();
    await dialog.getByText(/Not JSON/).waitFor();
    await input.fill('{"mount": "/var"}');
    await shot("operator-rerun-changed-input");
    await dialog.getByRole("button", { name: "Run with this input" }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/runs/") && url.href !== firstRun);
    const rerunId = page.url().split("/runs/")[1]!;
    const rerun = await api.ok("GET", `/api/runs/${rerunId}`);
    expect(rerun).toMatchObject({ jobId: ids["slow-disk"], trigger: "manual", input: { mount: "/var" } });
    await page.getByText('"mount": "/var"').waitFor();
    await api.waitRun(rerunId);
    // Re-run: the same input again.
    await page.getByRole("button", { name: "Re-run", exact: true }).click({ timeout: 15_000 });
    await page.waitForURL((url) => url.pathname.startsWith("/runs/") && !url.href.endsWith(rerunId));
    const again = await api.ok("GET", `/api/runs/${page.url().split("/runs/")[1]}`);
    expect(again.input).toEqual({ mount: "/var" });
    await api.waitRun(again.id);
  });

  it("on a phone the Runs list is one card per run, status visible", async () => {
    await phonePage.goto(`${core.url}/runs`);
    const cards = phonePage.getByTestId("run-cards");
    await cards.getByRole("link").first().waitFor();
    const card = cards.getByRole("link").filter({ hasText: "disk-on-gone" });
    await card.getByText("failed", { exact: true }).waitFor();
    const box = await card.getByText("failed", { exact: true }).boundingBox();
    expect(box && box.x + box.width).toBeLessThanOrEqual(390);
    await shot("operator-runs-phone", phonePage);
  });

  it("the job page as tabs: Overview (runs first) · Runs · Settings · Webhook, the tab in the URL", async () => {
    const hooked = await createJob("deploy-check", "Check the deploy.", [ids["web-1"]!], {
      webhook: { slug: "deploy-check", secret: "a-webhook-secret-of-some-length" },
    });
    await page.goto(`${core.url}/jobs/${ids["slow-disk"]}`);
    const overview = page.getByRole("tabpanel", { name: "Overview" });
    await overview.getByRole("heading", { name: "Recent runs" }).waitFor();
    await overview.getByTestId("target-nodes").getByText("web-1").waitFor();
    await shot("operator-job-tabs-overview");
    await page.getByRole("tab", { name: "Runs" }).click();
    expect(page.url()).toContain("tab=runs");
    await page.getByRole("tabpanel", { name: "Runs" }).getByRole("columnheader", { name: "Tokens" }).waitFor();
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByRole("textbox", { name: "Prompt" }).waitFor();
    await page.getByRole("tab", { name: "Webhook" }).click();
    await page.getByText("No webhook").waitFor();
    await page.goto(`${core.url}/jobs/${hooked}?tab=webhook`);
    await page.getByLabel("Webhook URL").getByText(`${core.url}/api/webhook/deploy-check`).waitFor();
    await shot("operator-job-tabs-webhook");
    await phonePage.goto(`${core.url}/jobs/${ids["slow-disk"]}?tab=runs`);
    await phonePage.getByTestId("run-cards").getByRole("link").first().waitFor();
    await shot("operator-job-tabs-phone", phonePage);
  });

  it("the Node page: disks from the heartbeats, and Activity listing the runs that used it", async () => {
    await page.goto(`${core.url}/nodes/${ids["web-1"]}`);
    // The heartbeats carry the disks now, so the System section has its disk table.
    await page.getByRole("region", { name: "System" }).getByRole("columnheader", { name: "Mount" }).waitFor();
    const activity = page.getByTestId("node-activity");
    await activity.getByRole("link", { name: "slow-disk" }).first().waitFor();
    await activity.getByRole("link", { name: "stats-and-notes" }).first().waitFor();
    expect(await activity.getByText("disk-on-gone").count()).toBe(0);
    await activity.getByRole("heading", { name: "Activity" }).scrollIntoViewIfNeeded();
    await shot("operator-node-activity");
    await page.goto(`${core.url}/nodes/${ids["gone-1"]}`);
    await page.getByTestId("node-activity").getByText("No run has used this Node yet.").waitFor();
  });

  it("an admin renames a Node and edits its labels after enrollment; a taken name is said at the field", async () => {
    await page.goto(`${core.url}/nodes/${ids["never-1"]}`);
    await page.getByRole("button", { name: "Edit" }).click();
    const dialog = page.getByRole("dialog", { name: "Edit never-1" });
    const name = dialog.getByRole("textbox", { name: "Name" });
    // The Core's schema refusal at the field, in its own words, not as "body.name: …" (issue 22.6).
    await name.fill("no spaces");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("letters, digits, _ . - (start with a letter or digit)").waitFor();
    expect(await dialog.getByText(/body\.name/).count()).toBe(0);
    await name.fill("web-1");
    await dialog.getByRole("button", { name: "Save" }).click();
    await dialog.getByText("a node named web-1 exists").waitFor();
    await name.fill("spare-1");
    expect(await dialog.getByText("a node named web-1 exists").count()).toBe(0);
    const labels = dialog.getByLabel("Labels");
    await labels.fill("env=spare");
    await labels.press("Enter");
    await shot("operator-node-edit");
    await dialog.getByRole("button", { name: "Save" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.getByRole("heading", { name: /^spare-1/ }).waitFor();
    const saved = await api.ok("GET", `/api/nodes/${ids["never-1"]}`);
    expect(saved).toMatchObject({ name: "spare-1", labels: { env: "spare" } });
    expect((await api.ok("GET", "/api/nodes?selector=env=spare")).map((n: { id: string }) => n.id)).toEqual([
      ids["never-1"],
    ]);
  });

  it("saving a secret under a name that exists asks before it replaces the value", async () => {
    await api.ok("POST", "/api/secrets", { name: "DEPLOY_TOKEN", value: "first-value-123" });
    await page.goto(`${core.url}/secrets`);
    await page.getByRole("button", { name: "Add secret" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a secret" });
    await dialog.getByRole("textbox", { name: "Name" }).fill("DEPLOY_TOKEN");
    await dialog.getByRole("textbox", { name: "Value" }).fill("second-value-456");
    await dialog.getByRole("button", { name: "Save secret" }).click();
    await dialog.getByText("Replace DEPLOY_TOKEN?").waitFor();
    await shot("operator-secret-replace-asks");
    await dialog.getByRole("button", { name: "Replace the value" }).click();
    await dialog.waitFor({ state: "hidden" });
    // The Core recorded a replacement (secret.update), made only after the confirmation.
    const audit = await api.ok("GET", "/api/audit?action=secret.update");
    expect(JSON.stringify(audit)).toContain("DEPLOY_TOKEN");
  });

  it("a viewer changes their own password on Your account; a wrong current one is said at its field", async () => {
    await api.ok("POST", "/api/users", { username: "vera", password: "vera-old-password-1", role: "viewer" });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const viewer = await context.newPage();
    viewer.on("pageerror", (error) => pageErrors.push(error.message));
    await viewer.goto(`${core.url}/login`);
    await viewer.getByRole("textbox", { name: "Username" }).fill("vera");
    await viewer.getByRole("textbox", { name: "Password" }).fill("vera-old-password-1");
    await viewer.getByRole("button", { name: "Sign in" }).click();
    await viewer.waitForURL((url) => !url.pathname.startsWith("/login"));
    await viewer.getByRole("link", { name: "Your account" }).click();
    const form = viewer.getByRole("form", { name: "Change your password" });
    await form.getByLabel("Current password").fill("not-my-password");
    await form.getByLabel(/^New password/).fill("vera-new-password-2");
    await form.getByLabel("Repeat the new password").fill("vera-new-password-2");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByText("not your current password").waitFor();
    await shot("operator-account-wrong-password", viewer);
    await form.getByLabel("Current password").fill("vera-old-password-1");
    expect(await form.getByText("not your current password").count()).toBe(0);
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByText(/Password changed/).waitFor();
    // Still signed in here (a new session), and the new password is the one that works.
    await viewer.goto(`${core.url}/runs`);
    await viewer.getByRole("heading", { name: "Runs" }).waitFor();
    expect(viewer.url()).not.toContain("/login");
    const fresh = new ApiClient(core.url);
    expect(
      (await fresh.request("POST", "/api/auth/login", { username: "vera", password: "vera-old-password-1" })).status,
    ).toBe(401);
    await fresh.login("vera", "vera-new-password-2");
    await context.close();
  });

  it("no uncaught page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
