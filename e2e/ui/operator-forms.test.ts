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
 * Issue 22, the second half of its forms and layout items, in Chromium against a real Core and
 * the compiled Node: cancel asks and names who; providers validated, tested and edited; the job
 * form's errors at their fields; the audit log readable; Jobs as cards on a phone.
 */

const haveChromium = chromiumAvailable("operator forms UI e2e");

/** HANG runs a long command (cancelled mid-call); anything else answers at once. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
  const prompt = body.messages.find((m) => m.role === "user")?.content ?? "";
  const toolResults = body.messages.filter((m) => m.role === "tool");
  if (prompt.includes("HANG") && toolResults.length === 0)
    return turn.toolCalls([{ name: "exec_command", arguments: { command: "sleep 60" } }]);
  return turn.text(`Done: ${prompt.slice(0, 40)}`);
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
const procs: NodeProc[] = [];
const ids: Record<string, string> = {};
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!haveChromium) return;
  ensureUiBuilt();
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  browser = await launchChromium();
  ({ page } = await openSignedInPages(browser, core.url, {
    errors: pageErrors,
    desktopHeight: 860,
    timeoutMs: 10_000,
  }));
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "web-1", labels: { env: "prod" } });
  ids["web-1"] = created.id;
  procs.push(startNode(core.url, created.token, ["--allow-shell"]));
  await api.waitNodeOnline(created.id);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all(procs.map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
});

async function createJob(name: string, prompt: string, extra: Record<string, unknown> = {}): Promise<string> {
  const job = await api.ok("POST", "/api/jobs", {
    name,
    prompt,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [ids["web-1"]],
    ...extra,
  });
  ids[name] = job.id;
  return job.id as string;
}

describe.skipIf(!haveChromium)("the operator's forms (issue 22.6, 22.7)", { timeout: 90_000 }, () => {
  it("Cancel asks first; the cancelled run says who cancelled it, and the audit log has it", async () => {
    const jobId = await createJob("hang-disk", "HANG: check the disks.", { tools: ["exec_command"] });
    const { runId } = await api.ok("POST", `/api/jobs/${jobId}/run`, {});
    ids.hangRun = runId;
    await page.goto(`${core.url}/runs/${runId}`);
    await page.getByTestId("tool-in-flight").waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Cancel run" }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel this run?" });
    await dialog.getByText("recorded under your name").waitFor();
    await screenshot(page, "operator-run-cancel-asks");
    // Backing out leaves the run alone.
    await dialog.getByRole("button", { name: "Cancel", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await api.ok("GET", `/api/runs/${runId}`)).status).toBe("running");

    await page.getByRole("button", { name: "Cancel run" }).click();
    await dialog.getByRole("button", { name: "Cancel the run" }).click();
    const alert = page.getByLabel("Cancelled");
    await alert.getByText("Cancelled by admin.").waitFor({ timeout: 15_000 });
    await screenshot(page, "operator-run-cancelled-by");
    const run = await api.ok("GET", `/api/runs/${runId}`);
    expect(run).toMatchObject({ status: "cancelled", cancelledBy: "admin" });
    const entries = await api.ok("GET", `/api/audit?action=run.cancel&target=${runId}`);
    expect(entries).toEqual([expect.objectContaining({ actor: "admin", detail: expect.objectContaining({ jobId }) })]);
  });

  it("a provider's address is checked at its field, tested before save, and the provider edited", async () => {
    await page.goto(`${core.url}/providers`);
    await page.getByRole("button", { name: "Add provider" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a model provider" });
    await dialog.getByRole("textbox", { name: "Name" }).fill("gateway");
    const url = dialog.getByRole("textbox", { name: "Base URL" });
    await url.fill("localhost:1234");
    await dialog.getByRole("button", { name: "Test" }).click();
    const said = "an http:// or https:// address, like http://localhost:1234/v1";
    await dialog.getByText(said).waitFor();
    expect(await url.getAttribute("aria-invalid")).toBe("true");
    // Saving says the same, at the same field, in plain words (no `body.baseUrl`).
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await dialog.getByText(said).waitFor();
    expect(await dialog.textContent()).not.toContain("body.");
    await screenshot(page, "operator-provider-url-at-field");
    // Fixed: the word goes at once; Test finds the model before anything is saved.
    await url.fill(llm.baseUrl);
    expect(await dialog.getByText(said).count()).toBe(0);
    await dialog.getByRole("button", { name: "Test" }).click();
    await dialog.getByTestId("provider-test-result").getByText("Connected — 1 model").waitFor();
    await dialog.getByText("qwen2.5-7b-instruct").waitFor();
    expect((await api.ok("GET", "/api/providers")).map((p: { name: string }) => p.name)).toEqual(["LM Studio"]);
    await screenshot(page, "operator-provider-tested-before-save");
    await dialog.getByRole("button", { name: "Add provider" }).click();
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: "gateway", exact: true }).waitFor();

    // Edit: the stored values are in the form; a change is saved, the rest kept.
    await page.getByRole("button", { name: "Edit gateway" }).click();
    const edit = page.getByRole("dialog", { name: "Edit gateway" });
    expect(await edit.getByRole("textbox", { name: "Base URL" }).inputValue()).toBe(llm.baseUrl);
    await edit.getByRole("textbox", { name: "Parallel requests" }).fill("2");
    await edit.getByRole("textbox", { name: "Name" }).fill("gateway-lan");
    await screenshot(page, "operator-provider-edit");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.waitFor({ state: "hidden" });
    await page.getByRole("cell", { name: "gateway-lan", exact: true }).waitFor();
    const stored = (await api.ok("GET", "/api/providers")).find((p: { name: string }) => p.name === "gateway-lan");
    expect(stored).toMatchObject({ baseUrl: llm.baseUrl, options: { maxConcurrent: 2 } });
    await page.getByRole("button", { name: "Edit gateway-lan" }).click();
    await page.getByRole("dialog", { name: "Edit gateway-lan" }).getByRole("button", { name: "Test" }).click();
    await page.getByRole("dialog", { name: "Edit gateway-lan" }).getByText("Connected — 1 model").waitFor();
    await page.getByRole("dialog", { name: "Edit gateway-lan" }).getByRole("button", { name: "Cancel" }).click();
  });

  it("the job form puts the Core's word at the field, in plain words, and clears it once the field changes", async () => {
    await createJob("taken-name", "Anything.");
    await page.goto(`${core.url}/jobs/new`);
    const name = page.getByRole("textbox", { name: "Name" });
    const prompt = page.getByRole("textbox", { name: "Prompt" });
    await name.fill("disk/report");
    await prompt.fill("Report {{nonsense.x}}");
    await page.getByRole("combobox", { name: "Target Nodes" }).click();
    await page.getByRole("option", { name: "web-1" }).click();
    await page.keyboard.press("Escape");
    await page.getByPlaceholder(/Model id|Loading models/).fill("qwen2.5-7b-instruct");
    const create = page.getByRole("button", { name: "Create job" });
    const nameWord = "letters, digits, space, _ . - (max 100)";

    // The schema's check, at Name (focused, scrolled clear of the header); no `body.name: …`.
    await create.click();
    await page.getByText(nameWord).waitFor();
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    await expect.poll(() => page.evaluate("document.activeElement?.getAttribute('aria-invalid')")).toBe("true");
    expect(await page.locator("form").textContent()).not.toContain("body.");
    await page.getByLabel("Not saved").getByText("Change the fields marked in red").waitFor();
    await screenshot(page, "operator-job-error-at-field");
    // Changed: the word goes at once, before saving again.
    await name.fill("taken-name");
    expect(await page.getByText(nameWord).count()).toBe(0);
    expect(await page.getByLabel("Not saved").count()).toBe(0);

    // The Core's own check (an unknown placeholder), at Prompt.
    await create.click();
    // (The preview under the prompt says it too; this is the field's own error line.)
    const promptWord = page.locator(".mantine-Textarea-error", {
      hasText: /\{\{nonsense\.x\}\} refers to an unknown root/,
    });
    await promptWord.waitFor();
    expect(await prompt.getAttribute("aria-invalid")).toBe("true");
    expect(await name.getAttribute("aria-invalid")).not.toBe("true");
    await prompt.fill("Report the disks for {{job.name}}.");
    expect(await promptWord.count()).toBe(0);

    // A conflict names its field too: the name is taken.
    await create.click();
    await page.getByText("another job has this name").waitFor();
    expect(await name.getAttribute("aria-invalid")).toBe("true");
    await screenshot(page, "operator-job-name-taken-at-field");
    await name.fill("disk-report-2");
    expect(await page.getByText("another job has this name").count()).toBe(0);
    await create.click();
    // Not /jobs/new itself, which the same pattern matches before the save has landed.
    await page.waitForURL(/\/jobs\/(?!new$)[^/]+$/);
    const saved = (await api.ok("GET", "/api/jobs")).find((j: { name: string }) => j.name === "disk-report-2");
    expect(saved).toMatchObject({ prompt: "Report the disks for {{job.name}}.", nodes: [ids["web-1"]] });
  });

  it("no uncaught page errors", () => {
    expect(pageErrors).toEqual([]);
  });
});
