import { join } from "node:path";
import { startHttpReceiver } from "@fabricore/core/channels/testing/receivers.ts";
import type { RecordedRequest } from "@fabricore/core/llm/testing/script.ts";
import { turn } from "@fabricore/core/llm/testing/script.ts";
import { startScriptedOpenAiServer } from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import type { Browser, Page } from "playwright-core";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, ensureUiBuilt, launchChromium, SHOTS, screenshot } from "../support/browser.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
} from "../support/harness.ts";

const haveChromium = chromiumAvailable("results UI e2e");

const SECRET = `whsec_${Buffer.from("results-ui-test-signing-key!").toString("base64")}`;

/** The report job answers with JSON its schema accepts; the follow-up job says what it was given. */
function script(request: RecordedRequest) {
  const body = request.body as { messages: Array<{ role: string; content?: string | null }> };
  const prompt = body.messages.map((m) => m.content ?? "").join("\n");
  if (prompt.includes("FOLLOW-UP")) return turn.text("Follow-up done.");
  return turn.text('{"ok": true, "summary": "every disk has room"}');
}

let llm: Awaited<ReturnType<typeof startScriptedOpenAiServer>>;
let core: CoreHandle;
let api: ApiClient;
let node: NodeProc;
let hook: Awaited<ReturnType<typeof startHttpReceiver>>;
let slack: Awaited<ReturnType<typeof startHttpReceiver>>;
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
  llm = await startScriptedOpenAiServer({ script });
  hook = await startHttpReceiver([200]);
  slack = await startHttpReceiver([500]);
  core = await startCore();
  api = await new ApiClient(core.url).login();
  await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  const created = await api.ok("POST", "/api/nodes", { name: "web-1", labels: { env: "prod" } });
  node = startNode(core.url, created.token, []);
  await api.waitNodeOnline(created.id);
  await api.ok("POST", "/api/jobs", {
    name: "follow-up",
    prompt: "FOLLOW-UP on {{input.run.jobName}}: {{input.run.output}}",
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: ["web-1"],
  });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on("pageerror", (error) => pageErrors.push(error.message));
}, 180_000);

afterAll(async () => {
  if (pageErrors.length) console.log("PAGE ERRORS", pageErrors);
  await browser?.close();
  await node?.stop();
  await core?.proc.stop();
  await Promise.all([llm?.close(), hook?.close(), slack?.close()]);
});

describe.skipIf(!haveChromium)("results that reach people, in Chromium", { timeout: 60_000 }, () => {
  it("adds a signed webhook channel and a Slack one, and tests both from the page", async () => {
    await page.goto(`${core.url}/login`);
    await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => !url.pathname.startsWith("/login"));
    await page.getByRole("link", { name: "Channels" }).click();
    await page.getByText("No channels yet").waitFor();

    await page.getByRole("button", { name: "Add channel" }).click();
    let dialog = page.getByRole("dialog", { name: "Add a channel" });
    await dialog.getByRole("textbox", { name: "Name" }).fill("ops-hook");
    await dialog.getByRole("textbox", { name: "URL" }).fill(`${hook.url}/fabricore`);
    await dialog.getByRole("textbox", { name: "Signing secret" }).fill(SECRET);
    await dialog.getByRole("button", { name: "Save channel" }).click();
    await dialog.waitFor({ state: "hidden" });

    await page.getByRole("button", { name: "Add channel" }).click();
    dialog = page.getByRole("dialog", { name: "Add a channel" });
    await dialog.getByRole("textbox", { name: "Name" }).fill("team-slack");
    await dialog.getByText("Slack", { exact: true }).click();
    // A URL that is not http(s) is refused by the Core, at the form, and nothing is saved.
    await dialog.getByRole("textbox", { name: "Incoming webhook URL" }).fill("file:///etc/passwd");
    await dialog.getByRole("button", { name: "Save channel" }).click();
    await dialog.getByText(/http\(s\)/).waitFor();
    await dialog.getByRole("textbox", { name: "Incoming webhook URL" }).fill(`${slack.url}/services/T000/B000/XXXX`);
    await dialog.getByRole("button", { name: "Save channel" }).click();
    await dialog.waitFor({ state: "hidden" });

    const listed = await api.ok("GET", "/api/channels");
    expect(listed.map((c: { name: string }) => c.name).sort()).toEqual(["ops-hook", "team-slack"]);
    // Secrets are write-only: neither the signing secret nor the Slack URL comes back.
    expect(JSON.stringify(listed)).not.toContain(SECRET);
    expect(JSON.stringify(listed)).not.toContain("XXXX");

    await page.getByRole("button", { name: "Test ops-hook" }).click();
    await page.getByTestId("channel-test-answer").getByText("Delivered").waitFor();
    await page.getByTestId("channel-test-answer").getByText("HTTP 200").waitFor();
    await page.getByRole("button", { name: "Test team-slack" }).click();
    const slackAnswer = page.getByTestId("channel-test-answer").filter({ hasText: "HTTP 500" });
    await slackAnswer.getByText("Not delivered").waitFor();
    await slackAnswer.getByText("a real notification would be retried").waitFor();
    expect(hook.requests).toHaveLength(1);
    expect(hook.requests[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
    expect(slack.requests).toHaveLength(1);
    await page.mouse.move(0, 0);
    await shot("channels");
  });

  it("builds a job with a notification, an output schema, a chained job and a public webhook", async () => {
    await page.goto(`${core.url}/jobs/new`);
    await page.getByRole("textbox", { name: "Name" }).fill("disk-json");
    const prompt = page.getByRole("textbox", { name: "Prompt" });
    // The preview uses the Core's own template code: a typo in a root is named, a good one filled.
    await prompt.fill("Check {{inptu.repository.full_name}}");
    await page
      .getByTestId("prompt-template-problems")
      .getByText(/unknown root "inptu"/)
      .waitFor();
    await prompt.fill("Check the disks of {{job.name}} for {{input.repository.full_name}} and answer as JSON.");
    await page
      .getByTestId("prompt-preview")
      .getByText("Check the disks of disk-json for acme/web and answer as JSON.")
      .waitFor();
    await page.getByRole("combobox", { name: "Target Nodes" }).click();
    await page.getByRole("option", { name: "web-1" }).click();
    await page.keyboard.press("Escape");
    await page.getByPlaceholder(/Model id|Loading models/).fill("qwen2.5-7b-instruct");

    await page.getByRole("checkbox", { name: "On a webhook" }).check();
    // Without a secret the Core refuses the webhook until it is marked public.
    await page.getByRole("checkbox", { name: /Public: anyone who knows the URL/ }).check();

    await page.getByRole("button", { name: "Add notification" }).click();
    await page.getByRole("combobox", { name: "Notification 1 channel" }).click();
    await page.getByRole("option", { name: "ops-hook (webhook)" }).click();
    const events = page.getByRole("group", { name: "Notification 1 events" });
    await events.getByRole("checkbox", { name: "Succeeded" }).check();
    await page.getByRole("switch", { name: /Structured output/ }).check();
    const schema = page.getByRole("textbox", { name: "Output JSON Schema" });
    await schema.fill("{ not json");
    await schema.blur();
    await page.getByText(/^Not JSON/).waitFor();
    await schema.fill(
      JSON.stringify({
        type: "object",
        properties: { ok: { type: "boolean" }, summary: { type: "string" } },
        required: ["ok", "summary"],
      }),
    );
    // Formatted on blur: the field grows, so leave it before clicking below it.
    await schema.blur();
    await page.getByRole("button", { name: "Add next job" }).click();
    await page.getByRole("combobox", { name: "Next job 1" }).click();
    await page.getByRole("option", { name: "follow-up" }).click();
    await page.getByRole("heading", { name: "Results" }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, "job-results-section.png"), animations: "disabled" });

    await page.getByRole("button", { name: "Create job" }).click();
    // Not /jobs/new itself, which the same pattern matches before the save has landed.
    await page.waitForURL(/\/jobs\/(?!new$)[^/]+$/);
    await page.getByRole("button", { name: "Run now" }).waitFor();
    const jobs = await api.ok("GET", "/api/jobs");
    const saved = jobs.find((j: { name: string }) => j.name === "disk-json");
    const hookId = (await api.ok("GET", "/api/channels")).find((c: { name: string }) => c.name === "ops-hook").id;
    const followUpId = jobs.find((j: { name: string }) => j.name === "follow-up").id;
    expect(saved.notify).toEqual([{ channel: hookId, on: ["failed", "succeeded"] }]);
    expect(saved.output.schema.required).toEqual(["ok", "summary"]);
    expect(saved.then).toEqual([{ job: followUpId, on: ["succeeded"] }]);
    expect(saved.webhook.public).toBe(true);
  });

  it("runs it: the result and the delivery on the run page, the receiver verified, the chain followed", async () => {
    await page.getByRole("button", { name: "Run now" }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    const runId = page.url().split("/runs/")[1]!;
    await page.getByRole("heading", { name: "Result" }).waitFor({ timeout: 30_000 });
    const result = page.getByTestId("run-result");
    await result.getByRole("row", { name: /summary every disk has room/ }).waitFor();
    await result.getByRole("row", { name: /ok true/ }).waitFor();
    const deliveries = page.getByRole("table", { name: "Notifications" });
    await deliveries.getByText("ops-hook").waitFor();
    // The page shows "pending" until the worker has sent it; a reload shows it delivered.
    await expect
      .poll(
        async () => {
          await page.reload();
          await deliveries.waitFor();
          return deliveries.getByText("delivered", { exact: true }).count();
        },
        { timeout: 20_000 },
      )
      .toBe(1);
    await shot("run-results");

    const delivery = hook.requests.find((r) => r.body.includes("run.succeeded"));
    expect(delivery).toBeDefined();
    const verified = new Webhook(SECRET).verify(delivery!.body, {
      "webhook-id": String(delivery!.headers["webhook-id"]),
      "webhook-timestamp": String(delivery!.headers["webhook-timestamp"]),
      "webhook-signature": String(delivery!.headers["webhook-signature"]),
    }) as { type: string; run: { id: string; result: unknown } };
    expect(verified.type).toBe("run.succeeded");
    expect(verified.run.id).toBe(runId);
    expect(verified.run.result).toEqual({ ok: true, summary: "every disk has room" });

    const jobs = await api.ok("GET", "/api/jobs");
    const followUp = jobs.find((j: { name: string }) => j.name === "follow-up");
    await expect
      .poll(
        async () => {
          const runs = await api.ok("GET", `/api/runs?jobId=${followUp.id}`);
          const list = Array.isArray(runs) ? runs : runs.items;
          return list.map((r: { trigger: string; status: string }) => `${r.trigger}:${r.status}`);
        },
        { timeout: 20_000 },
      )
      .toEqual(["chain:succeeded"]);
    expect(pageErrors).toEqual([]);
  });
});
