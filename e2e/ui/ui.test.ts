/**
 * The web UI in a real browser against the real Core process, a real Node and the scripted
 * LM Studio: sign in, walk every page, enroll a Node, test a provider, add a secret, create a job
 * through the form, run it and watch its transcript stream in. Screenshots of each page go to
 * docs/screenshots/ (they double as the README's pictures).
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest } from "@fabricore/core/llm/testing/script.ts";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type Proc,
  ROOT,
  startCore,
  startNode,
  tempDir,
} from "../support/harness.ts";

const CHROMIUM = process.env.FABRICORE_TEST_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = join(ROOT, "docs/screenshots");
const UI_INDEX = join(ROOT, "core/ui/dist/index.html");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI === "true") throw new Error(`CI=true but there is no Chromium at ${CHROMIUM}`);
if (!haveChromium) console.warn(`UI e2e skipped: no Chromium at ${CHROMIUM} (set FABRICORE_TEST_CHROMIUM)`);

const marker = `MARKER-${randomBytes(6).toString("hex")}`;
const readRoot = tempDir("ui-readroot");
const markerFile = join(readRoot, "disk-notes.txt");

/** The model checks the disks and reads a file, then reports slowly enough for the browser to
 * see the answer stream in. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
  const toolResults = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (toolResults.length > 0) {
    const noted = toolResults.find((r) => r.includes(marker)) ? marker : "no notes";
    return turn.text(`Disk report: the root filesystem has room to spare. Notes: ${noted}.`, {
      chunkSize: 6,
      chunkDelayMs: 60,
    });
  }
  return turn.toolCalls(
    [
      { name: "system_stats", arguments: {} },
      { name: "read_file", arguments: { path: markerFile } },
    ],
    { delayMs: 800, text: "Let me look at the server." },
  );
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];

async function shot(name: string, target: Page = page): Promise<void> {
  await target.waitForLoadState("networkidle").catch(() => {});
  await target.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function open(path: string): Promise<void> {
  await page.goto(`${core.url}${path}`);
  await page.waitForLoadState("networkidle").catch(() => {});
}

beforeAll(async () => {
  if (!haveChromium) return;
  // The Core serves core/ui/dist; `make test` builds it first, this is for running the file alone.
  if (!existsSync(UI_INDEX)) execFileSync("npm", ["run", "-w", "core/ui", "build"], { cwd: ROOT, stdio: "inherit" });
  ensureNodeBinary();
  mkdirSync(SHOTS, { recursive: true });
  writeFileSync(markerFile, `last cleanup ${marker}\n`);

  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const enrolled = await api.ok("POST", "/api/nodes", { name: "web-1", labels: { env: "prod", role: "web" } });
  node = startNode(core.url, enrolled.token, ["--read-root", readRoot]);
  await api.waitNodeOnline(enrolled.id).catch((error: unknown) => {
    throw new Error(`${String(error)}\nNode output:\n${node.output}\nCore output:\n${core.proc.output}`);
  });
  // A scheduled job and one past run, so the dashboard has something to show.
  const job = await api.ok("POST", "/api/jobs", {
    name: "nightly-check",
    prompt: "Check disk space on this server and summarise.",
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [enrolled.id],
    schedule: { cron: "0 3 * * *", timezone: "UTC" },
    webhook: { slug: "nightly", secret: "webhook-secret-123" },
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  await api.waitRun(runId);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  page = await context.newPage();
  // Fail a step with the locator that did not match, well before the test's own timeout.
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    // 401s are the browser logging the expected answers before sign-in and to a wrong password.
    if (message.type() === "error" && !message.text().includes("401")) consoleErrors.push(message.text());
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await node?.stop();
  await core?.proc.stop();
  await llm?.close();
});

describe.skipIf(!haveChromium)("web UI in Chromium", { timeout: 60_000 }, () => {
  it("sends a signed-out visitor to the login page and signs in", async () => {
    await open("/nodes");
    await page.waitForURL(/\/login\?next=/);
    await shot("login");
    await page.getByRole("textbox", { name: "Password" }).fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("Wrong username or password.").waitFor();
    await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/nodes$/);
    await page.getByRole("link", { name: "web-1" }).waitFor();
  });

  it("shows the dashboard", async () => {
    await open("/");
    await page.getByText("Nodes online").waitFor();
    await page.getByText("1 / 1").waitFor();
    await page.getByRole("link", { name: "nightly-check" }).first().waitFor();
    await shot("dashboard");
  });

  it("lists Nodes and shows one with live stats, tools and MCP servers", async () => {
    await open("/nodes");
    await expect(page.getByText("online", { exact: true }).first().isVisible()).resolves.toBe(true);
    await shot("nodes");
    await page.getByRole("link", { name: "web-1" }).click();
    await page.waitForURL(/\/nodes\/[^/]+$/);
    await page.getByText("read_file", { exact: true }).waitFor();
    await page.getByText("Uptime", { exact: true }).waitFor({ timeout: 15_000 });
    await shot("node-detail");
  });

  it("enrolls a Node and shows its token once, with the command to start it", async () => {
    await open("/nodes");
    await page.getByRole("button", { name: "Enroll a Node" }).click();
    await page.getByRole("textbox", { name: "Name" }).fill("db-1");
    await page.getByRole("button", { name: "Create enrollment token" }).click();
    await page.getByText("shown only once").waitFor();
    const command = await page.getByText("./fabricore-node --core").textContent();
    expect(command).toContain(`--core ${core.url}`);
    expect(command).toMatch(/--token fcn_\S+ --read-root \/var\/log/);
    await shot("enroll-node", page);
    await page.getByRole("button", { name: "I have copied it" }).click();
    await page.getByRole("link", { name: "db-1" }).waitFor();
  });

  it("tests a provider's connection", async () => {
    await open("/providers");
    await page.getByRole("button", { name: "Test" }).click();
    await page.getByText(/Connected — \d+ models?/).waitFor();
    await shot("providers");
  });

  it("adds a secret without ever showing it again", async () => {
    await open("/secrets");
    await page.getByRole("button", { name: "Add secret" }).click();
    await page.getByRole("textbox", { name: "Name" }).fill("BRAVE_API_KEY");
    await page.getByRole("textbox", { name: "Value" }).fill("s3cret-value-never-shown");
    await page.getByRole("button", { name: "Save secret" }).click();
    await page.getByText("BRAVE_API_KEY").waitFor();
    expect(await page.content()).not.toContain("s3cret-value-never-shown");
    await shot("secrets");
  });

  it("shows the MCP marketplace", async () => {
    await open("/mcp");
    await page.getByRole("heading", { name: "Marketplace" }).waitFor();
    await page.getByRole("button", { name: "Install on a Node" }).first().waitFor();
    await shot("mcp");
  });

  it("creates a job with the form, previewing its schedule", async () => {
    await open("/jobs/new");
    await page.getByRole("textbox", { name: "Name" }).fill("disk-report");
    await page.getByRole("textbox", { name: "Prompt" }).fill("Check disk space on this server and summarise.");
    await page.getByRole("combobox", { name: "Target Nodes" }).click();
    await page.getByRole("option", { name: "web-1" }).click();
    await page.keyboard.press("Escape");
    await page.getByPlaceholder(/Model id|Loading models/).fill("qwen2.5-7b-instruct");
    await page.getByRole("checkbox", { name: "On a schedule" }).check();
    await page.getByRole("textbox", { name: "Cron expression" }).fill("30 6 * * 1-5");
    await page.getByText("Next runs:").waitFor();
    await page.getByRole("checkbox", { name: "On a webhook" }).check();
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByText(/X-Hub-Signature-256: sha256=/).waitFor();
    await shot("job-form");
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForURL(/\/jobs\/[^/]+$/);
    await page.getByRole("button", { name: "Run now" }).waitFor();
    const jobs = await api.ok("GET", "/api/jobs");
    const created = jobs.find((j: { name: string }) => j.name === "disk-report");
    expect(created.schedule.cron).toBe("30 6 * * 1-5");
    expect(created.webhook.hasSecret).toBe(true);
  });

  it("runs the job and streams its transcript live", async () => {
    await page.getByRole("button", { name: "Run now" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    await page.getByRole("button", { name: "system_stats" }).waitFor({ timeout: 20_000 });
    await page.getByText(marker).first().waitFor({ timeout: 20_000 });
    await page.getByText("succeeded", { exact: true }).first().waitFor({ timeout: 20_000 });
    await shot("run");
  });

  it("lists runs and jobs", async () => {
    await open("/runs");
    await page.getByRole("link", { name: "disk-report" }).first().waitFor();
    await shot("runs");
    await open("/jobs");
    await page.getByRole("link", { name: "nightly-check" }).waitFor();
    await shot("jobs");
  });

  it("works on a phone in dark mode", async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      colorScheme: "dark",
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    const mobile = await phone.newPage();
    mobile.on("pageerror", (error) => pageErrors.push(error.message));
    await mobile.goto(`${core.url}/`);
    await mobile.getByText("Nodes online").waitFor();
    await shot("mobile-dashboard", mobile);
    await mobile.getByRole("button", { name: "Open navigation" }).click();
    await mobile.getByRole("link", { name: "Runs", exact: true }).click();
    await mobile.waitForURL(/\/runs$/);
    await shot("mobile-runs", mobile);
    await phone.close();
  });

  it("signs out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/login/);
    await open("/jobs");
    await page.waitForURL(/\/login\?next=/);
  });

  it("raised no uncaught errors in the browser", () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
