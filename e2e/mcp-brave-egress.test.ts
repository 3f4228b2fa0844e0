/**
 * Issue 17 with a real npm MCP server: @modelcontextprotocol/server-brave-search (bundled into the
 * `mcp/brave-search` image the preset names, e2e/images/test-images.ts) runs as a managed server of
 * the compiled Node behind the preset's allow list, added through the real Core with its API key as
 * a stored secret. Its hard-coded https://api.search.brave.com goes through the Node's egress proxy
 * to a stand-in served in a network namespace this test makes (e2e/support/brave-stand-in.mjs): the
 * name resolves there only because the Node's proxy is pointed at the namespace's DNS
 * (`--egress-dns`); the container trusts the stand-in's certificate through NODE_EXTRA_CA_CERTS and
 * the test's own CA. Nothing leaves the machine and /etc/hosts is not touched.
 *
 * Proven: the tools load; a brave_web_search call's HTTPS request reaches the stand-in with the
 * secret key, and its Brave-shaped JSON comes back in the tool result, with the key redacted before
 * the model, the transcript and the output see it; a redirect to another host is refused by the
 * proxy, counted in the API's status and the Node's log, and shown on the MCP servers page in
 * Chromium (docs/screenshots/mcp-egress.png).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { dockerOptions } from "@fabricore/node/runtime/docker-api.ts";
import {
  assertDocker,
  onCi,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "@fabricore/node/runtime/testing/docker-suite.ts";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BRAVE_SEARCH_IMAGE, ensureTestImages } from "./images/test-images.ts";
import { chromiumAvailable, ensureUiBuilt, launchChromium, screenshot } from "./support/browser.ts";
import {
  ADMIN_PASSWORD,
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  Proc,
  startCore,
  tempDir,
  waitFor,
} from "./support/harness.ts";

const probe = await probeDocker();
const isRoot = process.getuid?.() === 0;
const run = shouldRunDockerSuite(probe, "brave-search behind an egress allow list") && (isRoot || onCi);
if (!isRoot && !onCi) console.warn("[brave-search egress] skipped: network namespaces need root");
const haveChromium = run && chromiumAvailable("brave-search egress in the UI");

const tag = String(process.pid % 100000);
const ns = `fc-brave-${tag}`;
const hostIf = `fcbr${tag}h`.slice(0, 15);
const nsIf = `fcbr${tag}n`.slice(0, 15);
// The benchmarking range (not private, so the proxy's address checks let it through), on the
// test's veth pair only; egress.docker.test.ts uses 198.18.77.0/30.
const STAND_IN = "198.18.79.2";
const SECRET_NAME = "brave-api-key";
const apiKey = `BSA${randomBytes(12).toString("hex")}`;
const SERVER = "brave";

const dir = tempDir("brave-egress");
/** Where the Node may mount from: only the test CA's directory lives below it. */
const mountRoot = tempDir("brave-mounts");
const caDir = join(mountRoot, "ca");
const nodeDataDir = tempDir("brave-node");
const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

interface ChatBody {
  messages: Array<{ role: string; content?: string | null }>;
  tools?: Array<{ function: { name: string } }>;
}

/** Calls brave_web_search with the prompt's QUERY (only if offered under that name), then answers
 * with the tool's result, so the run's output shows what came back. */
function script(request: RecordedRequest) {
  const body = request.body as ChatBody;
  const user = body.messages.find((m) => m.role === "user")?.content ?? "";
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`Answer: ${results.join(" | ")}`);
  const offered = (body.tools ?? []).map((t) => t.function.name);
  if (!offered.includes("brave_web_search")) return turn.text(`NOT OFFERED; offered: ${offered.join(",")}`);
  const query = /QUERY:(.+)$/.exec(user)?.[1] ?? "";
  return turn.toolCalls([{ name: "brave_web_search", arguments: { query, count: 2 } }]);
}

let llm: ScriptedOpenAiServer;
let core: CoreHandle;
let api: ApiClient;
let node: Proc | undefined;
let standIn: ChildProcess | undefined;
let nodeId = "";
/** What the stand-in was asked, one parsed line per HTTPS request. */
const seen: Array<{ host: string; path: string; q: string }> = [];

async function mcpServer(): Promise<any> {
  const list = (await api.ok("GET", `/api/nodes/${nodeId}/mcp`)) as Array<{ name: string }>;
  return list.find((s) => s.name === SERVER);
}

async function search(name: string, query: string): Promise<any> {
  const job = await api.ok("POST", "/api/jobs", {
    name,
    prompt: `Search the web. QUERY:${query}`,
    model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
    nodes: [nodeId],
    maxSteps: 4,
  });
  const { runId } = await api.ok("POST", `/api/jobs/${job.id}/run`, {});
  await api.waitRun(runId, undefined, 60_000);
  return api.ok("GET", `/api/runs/${runId}`);
}

/** A CA of the test's own and a certificate for api.search.brave.com signed by it. */
function makeCertificates(): void {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-subj",
    "/CN=FabriCore e2e test CA",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
  );
  openssl("req", ...ec, "-subj", "/CN=api.search.brave.com", "-keyout", "key.pem", "-out", "leaf.csr");
  writeFileSync(join(dir, "leaf.ext"), "subjectAltName=DNS:api.search.brave.com\nextendedKeyUsage=serverAuth\n");
  openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    "leaf.ext",
    "-out",
    "cert.pem",
  );
  // The container runs as nobody and reads only the CA certificate (never a key).
  mkdirSync(caDir, { recursive: true, mode: 0o755 });
  chmodSync(mountRoot, 0o755);
  execFileSync("cp", [join(dir, "ca.pem"), join(caDir, "ca.pem")]);
  chmodSync(join(caDir, "ca.pem"), 0o644);
}

async function startStandIn(): Promise<void> {
  writeFileSync(join(dir, "token"), apiKey, { mode: 0o600 });
  writeFileSync(join(dir, "names.json"), JSON.stringify(["api.search.brave.com", "tracker.test"]));
  ip("netns", "add", ns);
  ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
  ip("link", "set", nsIf, "netns", ns);
  ip("addr", "add", "198.18.79.1/30", "dev", hostIf);
  ip("link", "set", hostIf, "up");
  ip("-n", ns, "addr", "add", `${STAND_IN}/30`, "dev", nsIf);
  ip("-n", ns, "link", "set", nsIf, "up");
  ip("-n", ns, "link", "set", "lo", "up");
  const script = join(import.meta.dirname, "support/brave-stand-in.mjs");
  standIn = spawn("ip", ["netns", "exec", ns, process.execPath, script, dir, STAND_IN], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    let buffer = "";
    standIn!.once("exit", (code) => reject(new Error(`the stand-in exited with ${code}`)));
    standIn!.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        if (line === "ready") resolve();
        else seen.push(JSON.parse(line));
      }
    });
  });
}

describe.skipIf(!run)("brave-search (the real npm server) behind an egress allow list", () => {
  beforeAll(async () => {
    assertDocker(probe);
    ensureNodeBinary();
    makeCertificates();
    await Promise.all([ensureTestImages(), startStandIn()]);
    llm = await startScriptedOpenAiServer({ script });
    core = await startCore();
    api = await new ApiClient(core.url).login();
    await api.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
    await api.ok("POST", "/api/secrets", { name: SECRET_NAME, value: apiKey });
    const created = await api.ok("POST", "/api/nodes", { name: "search-host" });
    nodeId = created.id;
    node = new Proc(
      spawn(
        ensureNodeBinary(),
        [
          "--core",
          core.url,
          "--data-dir",
          nodeDataDir,
          "--docker-socket",
          testDockerEndpoint(),
          "--mount-root",
          mountRoot,
          // This Node lets its servers reach Brave's API host and nothing else, and resolves with
          // the namespace's DNS, the only place api.search.brave.com points at the stand-in.
          "--allow-egress",
          "api.search.brave.com:443",
          "--egress-dns",
          STAND_IN,
          "--log-level",
          "info",
        ],
        { env: { ...process.env, FABRICORE_NODE_TOKEN: created.token }, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    await api.waitNodeOnline(nodeId);
  }, 240_000);

  afterEach((context) => {
    if (context.task.result?.state !== "fail") return;
    console.error(`--- Node output (tail) ---\n${node?.output.slice(-4000) ?? ""}`);
    console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-4000) ?? ""}`);
    console.error(`--- stand-in saw ---\n${JSON.stringify(seen)}`);
  });

  afterAll(async () => {
    if (nodeId) await api?.request("DELETE", `/api/nodes/${nodeId}/mcp/${SERVER}`).catch(() => {});
    await waitFor("the brave server removed", async () => (await mcpServer()) === undefined, 20_000).catch(() => {});
    await node?.stop();
    await core?.proc.stop();
    await llm?.close();
    standIn?.kill();
    try {
      ip("link", "del", hostIf);
    } catch {}
    try {
      ip("netns", "del", ns);
    } catch {}
    if (probe.available) {
      // Only this Node's, should the DELETE above not have reached it.
      const docker = new Docker(dockerOptions(testDockerEndpoint()));
      const left = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: ["fabricore.managed=true", `fabricore.server=${SERVER}`] }),
      });
      for (const c of left) {
        const env = (await docker.getContainer(c.Id).inspect()).Config.Env ?? [];
        if (env.includes(`BRAVE_API_KEY=${apiKey}`)) await docker.getContainer(c.Id).remove({ force: true });
      }
    }
    for (const path of [dir, mountRoot, nodeDataDir]) rmSync(path, { recursive: true, force: true });
  });

  it("runs with the preset's allow list, and its tools load", async () => {
    const presets = (await api.ok("GET", "/api/mcp/presets")) as Array<{ id: string; image: string; network: unknown }>;
    const preset = presets.find((p) => p.id === "brave-search")!;
    expect(preset).toMatchObject({ image: "mcp/brave-search", network: { allow: ["api.search.brave.com:443"] } });
    // The preset's image and hosts; as a plain image spec because the test CA has to be mounted
    // (the preset takes no mounts). The key goes in as a stored secret, by reference.
    const res = await api.request("POST", `/api/nodes/${nodeId}/mcp`, {
      name: SERVER,
      image: BRAVE_SEARCH_IMAGE,
      env: { NODE_EXTRA_CA_CERTS: "/etc/fabricore-test-ca/ca.pem" },
      settings: { BRAVE_API_KEY: { secret: SECRET_NAME } },
      mounts: [{ source: caDir, target: "/etc/fabricore-test-ca" }],
      network: preset.network,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain(apiKey);
    const server = await waitFor(
      "brave-search running with its tools",
      async () => {
        const s = await mcpServer();
        return s?.state === "running" && s.tools?.length >= 2 ? s : undefined;
      },
      60_000,
    );
    expect(server.network).toEqual({ allow: ["api.search.brave.com:443"] });
    expect(server.tools.map((t: { name: string }) => t.name).sort()).toEqual([
      "brave_local_search",
      "brave_web_search",
    ]);
    const tools = (await api.ok("GET", `/api/nodes/${nodeId}`)).tools as Array<{ name: string; source: string }>;
    expect(tools.filter((t) => t.source === `mcp:${SERVER}`).map((t) => t.name)).toContain("brave_web_search");
    // The Node gave the container no network and its npm server's fetch the proxy (Node 24 reads
    // HTTPS_PROXY only with NODE_USE_ENV_PROXY=1).
    const docker = new Docker(dockerOptions(testDockerEndpoint()));
    const [container] = await docker.listContainers({
      filters: JSON.stringify({ label: ["fabricore.managed=true", `fabricore.server=${SERVER}`] }),
    });
    const inspected = await docker.getContainer(container!.Id).inspect();
    expect(inspected.HostConfig.NetworkMode).toBe("none");
    expect(inspected.Config.Env).toEqual(
      expect.arrayContaining(["NODE_USE_ENV_PROXY=1", "HTTPS_PROXY=http://127.0.0.1:3128", `BRAVE_API_KEY=${apiKey}`]),
    );
  });

  it("a web search goes through the proxy to the stand-in, and the key never shows", async () => {
    const result = await search("brave-web", "fabricore egress");
    expect(result.status, JSON.stringify(result)).toBe("succeeded");
    // The stand-in's Brave-shaped JSON, as the server formats it, came back through the tool.
    expect(result.output).toContain("Title: FabriCore stand-in result one");
    expect(result.output).toContain('Answered for "fabricore egress"');
    expect(result.output).toContain("URL: https://example.org/two");
    // The stand-in answered only because the request carried the key (it says 401 otherwise) and it
    // echoed it: redacted before the model, the stored transcript and the output.
    expect(result.output).toContain(`The subscription token this request carried: [secret:${SECRET_NAME}]`);
    expect(JSON.stringify(result)).not.toContain(apiKey);
    expect(JSON.stringify(llm.chatRequests().map((r) => r.body))).not.toContain(apiKey);
    expect(seen).toContainEqual({ host: "api.search.brave.com", path: "/res/v1/web/search", q: "fabricore egress" });

    const server = await waitFor("the allowed connection counted", async () => {
      const s = await mcpServer();
      return s?.egress?.allowed >= 1 ? s : undefined;
    });
    expect(server.egress).toMatchObject({ allowed: 1, refused: 0 });
    expect(node!.output).toMatch(
      /egress allowed[^\n]*api\.search\.brave\.com:443|api\.search\.brave\.com:443[^\n]*egress allowed/,
    );
  });

  it("a call that makes the server reach another host is refused and counted", async () => {
    const before = seen.length;
    const result = await search("brave-elsewhere", "somewhere elsewhere");
    expect(result.status, JSON.stringify(result)).toBe("succeeded");
    // The stand-in was reached and redirected to tracker.test, which the proxy refused: the tool failed.
    expect(seen.slice(before)).toEqual([
      { host: "api.search.brave.com", path: "/res/v1/web/search", q: "somewhere elsewhere" },
    ]);
    expect(result.output).not.toContain("Title:");
    expect(result.output).toMatch(/fetch failed|error/i);
    const server = await waitFor("the refusal counted", async () => {
      const s = await mcpServer();
      return s?.egress?.refused >= 1 ? s : undefined;
    });
    expect(server.egress).toMatchObject({ allowed: 1, refused: 1, lastRefused: { target: "tracker.test:443" } });
    expect(node!.output).toMatch(/egress refused[^\n]*tracker\.test:443|tracker\.test:443[^\n]*egress refused/);
    expect(node!.output + core.proc.output).not.toContain(apiKey);
  });

  it.skipIf(!haveChromium)("the MCP servers page shows the allow list and the egress counts", async () => {
    ensureUiBuilt();
    const browser = await launchChromium();
    try {
      const page = await (
        await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light" })
      ).newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${core.url}/login?next=/mcp-servers`);
      await page.getByRole("textbox", { name: "Password" }).fill(ADMIN_PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(/\/mcp-servers/);
      await page.getByText("network: only api.search.brave.com:443").waitFor();
      const egress = page.getByTestId("mcp-egress");
      await egress.waitFor();
      expect(await egress.textContent()).toMatch(/^egress: 1 allowed, 1 refused \(last: tracker\.test:443, .+\)$/);
      expect(await page.content()).not.toContain(apiKey);
      await screenshot(page, "mcp-egress");
    } finally {
      await browser.close();
    }
  });
});
