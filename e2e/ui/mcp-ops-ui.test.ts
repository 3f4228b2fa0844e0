import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  assertDocker,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImages } from "../images/test-images.ts";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "../support/browser.ts";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "../support/harness.ts";
import { openSignedInPages } from "../support/ui-pages.ts";

/**
 * Issue 22.5's MCP operations in Chromium, against a real Core, the compiled Node and real Docker:
 * the install dialog says what the Node allows and stops a refused image and a missing required
 * setting before anything is sent; a failed server's Logs say why; Retry brings it up once the host
 * is fixed; Restart of a running one asks first and gives it a new container.
 * Screenshots: docs/screenshots/mcp-install-hints.png, mcp-logs.png, mcp-logs-phone.png.
 */

const haveChromium = chromiumAvailable("MCP operations UI e2e");
const probe = await probeDocker();
const withDocker = shouldRunDockerSuite(probe, "MCP operations UI e2e");
const mountRoot = tempDir("mcp-ui-mounts");
const docs = join(mountRoot, "docs");

let core: CoreHandle;
let api: ApiClient;
let node: NodeProc | undefined;
let nodeId = "";
let browser: Browser;
let page: Page;
let phonePage: Page;
const pageErrors: string[] = [];

async function serverState(name: string): Promise<any> {
  const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{ name: string }>;
  return list.find((s) => s.name === name);
}

beforeAll(async () => {
  if (!haveChromium || !withDocker) return;
  assertDocker(probe);
  ensureUiBuilt();
  ensureNodeBinary();
  await ensureTestImages();
  chmodSync(mountRoot, 0o755);
  core = await startCore();
  api = await new ApiClient(core.url).login();
  const created = await api.ok("POST", "/api/nodes", { name: "files-1" });
  nodeId = created.id;
  node = startNode(core.url, created.token, [
    "--docker-socket",
    testDockerEndpoint(),
    "--mount-root",
    mountRoot,
    "--allow-image",
    "mcp/filesystem",
    "--log-level",
    "warn",
  ]);
  await api.waitNodeOnline(nodeId);
  browser = await launchChromium();
  ({ page, phonePage } = await openSignedInPages(browser, core.url, {
    errors: pageErrors,
    desktopHeight: 900,
    timeoutMs: 15_000,
  }));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (nodeId && api) await api.request("DELETE", `/api/nodes/${nodeId}/mcp/docs`).catch(() => {});
  await node?.stop();
  await core?.proc.stop();
  rmSync(mountRoot, { recursive: true, force: true });
});

describe.skipIf(!haveChromium || !withDocker)(
  "MCP servers: install hints, logs, Retry and Restart (issue 22.5)",
  {
    timeout: 120_000,
  },
  () => {
    it("the install dialog shows what the Node allows and stops what it would refuse", async () => {
      await page.goto(`${core.url}/mcp-servers?node=${nodeId}`);
      const card = page.locator(".mantine-Card-root", { hasText: "mcp/brave-search" });
      await card.getByRole("button", { name: "Install on a Node" }).click();
      const dialog = page.getByRole("dialog", { name: "Install Brave Search" });
      const policy = dialog.getByTestId("mcp-node-policy");
      await policy.getByText("What files-1 allows").waitFor();
      await policy.getByText(`Mounts below ${mountRoot}, read-only (no writable mounts)`).waitFor();
      await policy.getByText("Images: only mcp/filesystem").waitFor();
      await policy.getByText(/open network not allowed/).waitFor();
      // brave-search's image is not on this Node's --allow-image list: said before anything is sent.
      await policy
        .getByText("This Node refuses mcp/brave-search: it runs only mcp/filesystem (--allow-image).")
        .waitFor();
      // Its apiKey is required: marked, and named when Install is pressed without it.
      const apiKey = dialog.getByRole("textbox", { name: "apiKey" });
      expect(await apiKey.getAttribute("aria-required").catch(() => null)).not.toBe("false");
      await dialog.getByRole("button", { name: "Install" }).click();
      await dialog.getByText("apiKey is required: pick a secret").waitFor();
      await dialog.getByRole("alert").filter({ hasText: "Not installed: apiKey is required" }).waitFor();
      await screenshot(page, "mcp-install-hints");
      // Nothing reached the Core.
      expect(await api.ok("GET", `/api/nodes/${nodeId}/mcp`)).toEqual([]);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "hidden" });
    });

    it("a failed server's Logs say why; Retry after the fix brings it up", async () => {
      await page.goto(`${core.url}/mcp-servers?node=${nodeId}`);
      const card = page.locator(".mantine-Card-root", { hasText: "mcp/filesystem" });
      await card.getByRole("button", { name: "Install on a Node" }).click();
      const dialog = page.getByRole("dialog", { name: "Install Filesystem" });
      await dialog.getByRole("textbox", { name: "Name" }).fill("docs");
      await dialog.getByRole("textbox", { name: "Host path" }).fill("/etc/ssl");
      await dialog.getByText(`/etc/ssl is outside this Node's mount roots (${mountRoot}).`).waitFor();
      // Inside the roots, but not made yet: only the Node can tell, and it does.
      await dialog.getByRole("textbox", { name: "Host path" }).fill(docs);
      await dialog.getByTestId("mcp-install-problem").waitFor({ state: "detached" });
      await dialog.getByRole("button", { name: "Install" }).click();
      await dialog.waitFor({ state: "hidden" });
      const row = page.getByRole("row", { name: /docs/ });
      await row.getByText("failed", { exact: true }).waitFor({ timeout: 30_000 });
      await row
        .getByText(/does not exist on this host/)
        .first()
        .waitFor();

      await row.getByRole("button", { name: "Logs of docs" }).click();
      const logs = page.getByRole("dialog", { name: "Logs of docs on files-1" });
      const pre = logs.getByTestId("mcp-logs");
      await pre.getByText(/\[node\] failed: mount refused: .*does not exist on this host/).waitFor();
      await logs.getByText("kept by the Node (recent attempts)").waitFor();
      await screenshot(page, "mcp-logs");
      await page.keyboard.press("Escape");
      await logs.waitFor({ state: "hidden" });

      // The operator makes the directory, then retries at once (no confirm: nothing runs to interrupt).
      mkdirSync(docs, { mode: 0o755 });
      chmodSync(docs, 0o755);
      await row.getByRole("button", { name: "Retry" }).click();
      await row.getByText("running", { exact: true }).waitFor({ timeout: 30_000 });
      const running = await serverState("docs");
      expect(running).toMatchObject({ state: "running", error: null });

      await row.getByRole("button", { name: "Logs of docs" }).click();
      await logs.getByText(/^container [0-9a-f]{12} \(stderr\)$/).waitFor();
      await pre.getByText("Secure MCP Filesystem Server running on stdio").waitFor();
      // Refresh reads again from the Node (the line stays: it is the container's log).
      await logs.getByRole("button", { name: "Refresh" }).click();
      await pre.getByText("Secure MCP Filesystem Server running on stdio").waitFor();
      await page.keyboard.press("Escape");
    });

    it("Restart of a running server asks first, then gives it a new container", async () => {
      const before = await api.ok("GET", `/api/nodes/${nodeId}/mcp/docs/logs?tail=1`);
      await page.goto(`${core.url}/mcp-servers?node=${nodeId}`);
      const row = page.getByRole("row", { name: /docs/ });
      await row.getByRole("button", { name: "Restart" }).click();
      const confirm = page.getByRole("dialog", { name: "Restart docs?" });
      await confirm.getByText("Tool calls it is running now fail").waitFor();
      await confirm.getByRole("button", { name: "Cancel" }).click();
      await confirm.waitFor({ state: "hidden" });
      expect((await api.ok("GET", `/api/nodes/${nodeId}/mcp/docs/logs?tail=1`)).containerId).toBe(before.containerId);

      await row.getByRole("button", { name: "Restart" }).click();
      await confirm.getByRole("button", { name: "Restart" }).click();
      await confirm.waitFor({ state: "hidden", timeout: 30_000 });
      const after = await waitFor("a new container", async () => {
        const logs = await api.ok("GET", `/api/nodes/${nodeId}/mcp/docs/logs?tail=1`);
        return logs.containerId && logs.containerId !== before.containerId ? logs : undefined;
      });
      expect(after.source).toBe("container");
      await row.getByText("running", { exact: true }).waitFor({ timeout: 30_000 });
      const audit = await api.ok("GET", `/api/audit?target=${encodeURIComponent(`${nodeId}/docs`)}`);
      expect((audit.items ?? audit).filter((e: { action: string }) => e.action === "mcp.restart")).toHaveLength(2);
    });

    it("the logs read on a phone", async () => {
      await phonePage.goto(`${core.url}/mcp-servers?node=${nodeId}`);
      await phonePage.getByRole("button", { name: "Logs of docs" }).click();
      const logs = phonePage.getByRole("dialog", { name: "Logs of docs on files-1" });
      await logs.getByTestId("mcp-logs").getByText("Secure MCP Filesystem Server running on stdio").waitFor();
      await screenshot(phonePage, "mcp-logs-phone");
      expect(pageErrors).toEqual([]);
    });
  },
);
