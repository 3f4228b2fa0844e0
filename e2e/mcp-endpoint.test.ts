/**
 * Issue 16's end-to-end proof: the fleet as an MCP server, seen by the MCP SDK's own client
 * (`Client` + `StreamableHTTPClientTransport`) against the real Core process and two real compiled
 * Nodes (dist/fabricore-node) on loopback. Tools are listed as `<node>__<tool>` plus the fleet
 * tools, `<node>__read_file` returns a real file's bytes from that Node's host, a viewer's token
 * lists but cannot call, a scoped token sees only its Nodes and tools, an approval-gated call waits
 * until an operator approves it through the REST API, `fabricore_run_job` holds on the job's own
 * approval policy, the audit log names the token's user and name, and a request without a bearer
 * gets 401. The real MCP Inspector CLI lists and calls the same tools.
 */
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RecordedRequest, turn } from "@fabricore/core/llm/testing/script.ts";
import {
  type ScriptedOpenAiServer,
  startScriptedOpenAiServer,
} from "@fabricore/core/llm/testing/scripted-openai-server.ts";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ApiClient,
  type CoreHandle,
  ensureNodeBinary,
  type NodeProc,
  startCore,
  startNode,
  tempDir,
  waitFor,
} from "./support/harness.ts";
import { httpTarget, runInspector } from "./support/inspector.ts";

let core: CoreHandle;
let admin: ApiClient;
let llm: ScriptedOpenAiServer;
const procs: NodeProc[] = [];
const clients: Client[] = [];
/** Each Node reads below its own directory only, each holding a marker no other file has. */
const roots: Record<string, string> = {};
const markers: Record<string, string> = {};
const nodeIds: Record<string, string> = {};

async function enroll(name: string, labels: Record<string, string>): Promise<void> {
  roots[name] = tempDir(`mcp-read-${name}`);
  markers[name] = `MCP-E2E-${name}-${randomBytes(8).toString("hex")}`;
  writeFileSync(join(roots[name], "motd.txt"), `${markers[name]}\n`);
  const created = await admin.ok("POST", "/api/nodes", { name, labels });
  nodeIds[name] = created.id;
  const proc = startNode(core.url, created.token, ["--read-root", roots[name], "--log-level", "warn"]);
  procs.push(proc);
  await admin.waitNodeOnline(created.id).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${proc.output}`);
  });
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "fabricore-e2e", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${core.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function token(api: ApiClient, body: Record<string, unknown>): Promise<string> {
  return (await api.ok("POST", "/api/tokens", body)).token as string;
}

function text(result: object): string {
  const content = "content" in result ? (result.content as Array<{ type: string; text?: string }>) : [];
  return content.map((c) => c.text ?? "").join("");
}

/** The scripted LM Studio of the job run through fabricore_run_job: it reads the file the prompt
 * names with the one tool offered, then answers with what it got. */
function script(request: RecordedRequest) {
  const body = request.body as {
    messages: Array<{ role: string; content?: string | null }>;
    tools?: Array<{ function: { name: string } }>;
  };
  const results = body.messages.filter((m) => m.role === "tool").map((m) => m.content ?? "");
  if (results.length > 0) return turn.text(`Notes: ${results.join(" | ")}`);
  const path = /READ:(\S+)/.exec(body.messages.find((m) => m.role === "user")?.content ?? "")?.[1] ?? "";
  const tool = (body.tools ?? [])[0]?.function.name ?? "none";
  return turn.toolCalls([{ name: tool, arguments: { path } }]);
}

const nodeToolNames = (names: string[]) => names.filter((n) => !n.startsWith("fabricore_")).sort();

beforeAll(async () => {
  ensureNodeBinary();
  llm = await startScriptedOpenAiServer({ script });
  core = await startCore();
  admin = await new ApiClient(core.url).login();
  await admin.ok("POST", "/api/providers", { name: "LM Studio", kind: "lmstudio", baseUrl: llm.baseUrl });
  await enroll("web-1", { env: "prod" });
  await enroll("stage-1", { env: "staging" });
}, 120_000);

afterEach((context) => {
  if (context.task.result?.state !== "fail") return;
  console.error(`--- Core output (tail) ---\n${core?.proc.output.slice(-4000) ?? ""}`);
  for (const p of procs) console.error(`--- Node output (tail) ---\n${p.output.slice(-2000)}`);
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await Promise.all(procs.map((p) => p.stop()));
  await core?.proc.stop();
  await llm?.close();
  for (const dir of Object.values(roots)) rmSync(dir, { recursive: true, force: true });
});

describe("/mcp with the MCP SDK client, a real Core and compiled Nodes", () => {
  it("answers 401 with WWW-Authenticate to a request without a bearer token", async () => {
    const res = await fetch(`${core.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    // The SDK client fails to connect, rather than hanging or getting a session.
    const client = new Client({ name: "no-token", version: "1.0.0" });
    await expect(client.connect(new StreamableHTTPClientTransport(new URL(`${core.url}/mcp`)))).rejects.toThrow();
  });

  it("lists every Node's tools as <node>__<tool> with the fleet tools, and reads a real file", async () => {
    const client = await connect(await token(admin, { name: "lm-studio" }));
    expect(client.getServerVersion()?.name).toBe("fabricore");
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "fabricore_list_nodes",
        "fabricore_run_job",
        "web-1__read_file",
        "web-1__system_stats",
        "stage-1__read_file",
        "stage-1__system_stats",
      ]),
    );
    // No shell was allowed on either Node: its policy keeps exec_command off the list.
    expect(names.some((n) => n.endsWith("__exec_command"))).toBe(false);
    const readFile = tools.find((t) => t.name === "web-1__read_file")!;
    expect(readFile.annotations?.readOnlyHint).toBe(true);
    expect(readFile.inputSchema).toMatchObject({ type: "object", properties: { path: expect.anything() } });

    const result = await client.callTool({
      name: "web-1__read_file",
      arguments: { path: join(roots["web-1"]!, "motd.txt") },
    });
    expect(result.isError, text(result)).toBe(false);
    expect(text(result)).toContain(markers["web-1"]);
    expect(text(result)).not.toContain(markers["stage-1"]);

    // The same tool on the other Node runs there: its root, not web-1's.
    const elsewhere = await client.callTool({
      name: "stage-1__read_file",
      arguments: { path: join(roots["web-1"]!, "motd.txt") },
    });
    expect(elsewhere.isError).toBe(true);

    const listed = await client.callTool({ name: "fabricore_list_nodes", arguments: { selector: "env=staging" } });
    const nodes = (listed.structuredContent as { nodes: Array<{ name: string; status: string; tools: string[] }> })
      .nodes;
    expect(nodes).toEqual([expect.objectContaining({ name: "stage-1", status: "online" })]);
    expect(nodes[0]!.tools).toContain("stage-1__read_file");
  });

  it("records the call in the audit log with the token's user and name, and in /api/mcp/calls", async () => {
    const audit = await admin.ok("GET", "/api/audit?action=mcp.tool.call");
    const call = audit.find(
      (e: { target: string; outcome: string }) => e.target === "web-1/read_file" && e.outcome === "ok",
    );
    expect(call).toMatchObject({
      actor: "admin",
      detail: {
        via: "mcp",
        token: "lm-studio",
        node: "web-1",
        tool: "read_file",
        arguments: { path: join(roots["web-1"]!, "motd.txt") },
      },
    });
    const calls = await admin.ok("GET", "/api/mcp/calls");
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user: "admin", token: "lm-studio", target: "web-1/read_file" }),
      ]),
    );
  });

  it("a viewer's token lists the tools but every call is refused, audited as denied", async () => {
    await admin.ok("POST", "/api/users", { username: "vera", password: "vera-viewer-password", role: "viewer" });
    const vera = await new ApiClient(core.url).login("vera", "vera-viewer-password");
    const client = await connect(await token(vera, { name: "vera-ide" }));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("web-1__read_file");
    const result = await client.callTool({
      name: "web-1__read_file",
      arguments: { path: join(roots["web-1"]!, "motd.txt") },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/viewer/);
    expect(text(result)).not.toContain(markers["web-1"]);
    const audit = await admin.ok("GET", "/api/audit?action=mcp.tool.call");
    expect(audit[0]).toMatchObject({
      actor: "vera",
      outcome: "denied",
      detail: { token: "vera-ide", reason: "viewer" },
    });
  });

  it("a scoped token (selector + tools) sees and calls only its Nodes' named tools", async () => {
    const client = await connect(
      await token(admin, { name: "staging-ide", scopes: { selector: "env=staging", tools: ["read_file"] } }),
    );
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(nodeToolNames(names)).toEqual(["stage-1__read_file"]);
    const ok = await client.callTool({
      name: "stage-1__read_file",
      arguments: { path: join(roots["stage-1"]!, "motd.txt") },
    });
    expect(text(ok)).toContain(markers["stage-1"]);
    for (const name of ["web-1__read_file", "stage-1__system_stats"]) {
      const refused = await client.callTool({ name, arguments: { path: join(roots["web-1"]!, "motd.txt") } });
      expect(refused.isError, name).toBe(true);
      expect(text(refused), name).not.toContain(markers["web-1"]);
    }
  });

  it("an approval-gated call waits (pending progress), runs only after approval via the API, denied never runs", async () => {
    const client = await connect(await token(admin, { name: "gated-ide", mcpApproval: { tools: ["read_file"] } }));
    const path = join(roots["web-1"]!, "motd.txt");
    const progress: string[] = [];
    let settled = false;
    const pending = client
      .callTool({ name: "web-1__read_file", arguments: { path } }, undefined, {
        onprogress: (p) => progress.push(p.message ?? ""),
        timeout: 30_000,
      })
      .finally(() => {
        settled = true;
      });
    const [waiting] = await waitFor("the pending MCP approval", async () => {
      const list = await admin.ok("GET", "/api/mcp/approvals?status=pending");
      return list.length > 0 ? list : undefined;
    });
    expect(waiting).toMatchObject({ tool: "read_file", node: "web-1", tokenName: "gated-ide", arguments: { path } });
    await waitFor("the pending progress notification", () => progress.some((m) => m.includes("approval")));
    // Held, not run: nothing answered the client and no call is in the audit log yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    const audited = (await admin.ok("GET", "/api/audit?action=mcp.tool.call")).filter(
      (e: { detail: { token?: string } }) => e.detail.token === "gated-ide",
    );
    expect(audited).toEqual([]);

    await admin.ok("POST", `/api/mcp/approvals/${waiting.id}/approve`, {});
    const result = await pending;
    expect(result.isError, text(result)).toBe(false);
    expect(text(result)).toContain(markers["web-1"]);
    const approvals = await admin.ok("GET", "/api/audit?action=mcp.approve");
    expect(approvals[0]).toMatchObject({ actor: "admin", target: waiting.id, detail: { token: "gated-ide" } });

    const denied = client.callTool({ name: "web-1__read_file", arguments: { path } });
    const [next] = await waitFor("the second pending approval", async () => {
      const list = await admin.ok("GET", "/api/mcp/approvals?status=pending");
      return list.length > 0 ? list : undefined;
    });
    await admin.ok("POST", `/api/mcp/approvals/${next.id}/deny`, { reason: "not on a Sunday" });
    const refused = await denied;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("not on a Sunday");
    expect(text(refused)).not.toContain(markers["web-1"]);
    // A tool the policy does not name goes straight through.
    expect((await client.callTool({ name: "web-1__system_stats", arguments: {} })).isError).toBe(false);
  });

  it("fabricore_run_job holds on the job's approval policy, reports it as progress, and answers once approved", async () => {
    const path = join(roots["web-1"]!, "motd.txt");
    const job = await admin.ok("POST", "/api/jobs", {
      name: "read-motd",
      prompt: `Read the message of the day. READ:${path}`,
      model: { provider: "LM Studio", model: "qwen2.5-7b-instruct" },
      nodes: [nodeIds["web-1"]],
      tools: ["read_file"],
      approval: { tools: ["read_file"] },
      maxSteps: 4,
    });
    const client = await connect(await token(admin, { name: "job-runner" }));
    const progress: string[] = [];
    const answer = client.callTool({ name: "fabricore_run_job", arguments: { job: "read-motd" } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ""),
      timeout: 60_000,
    });
    const run = await waitFor("the run waiting for approval", async () => {
      const runs = await admin.ok("GET", `/api/runs?jobId=${job.id}`);
      const found = runs.find((r: { jobId: string }) => r.jobId === job.id);
      if (found && found.status !== "queued" && found.status !== "running" && found.status !== "waiting_approval")
        throw new Error(`the run ended ${found.status}: ${JSON.stringify(found)}`);
      return found?.status === "waiting_approval" ? found : undefined;
    });
    await waitFor("the approval progress", () => progress.some((m) => m.includes("approval")));
    const held = await admin.ok("GET", `/api/runs/${run.id}`);
    expect(held.pendingApproval).toMatchObject({ tool: "read_file", node: "web-1" });
    await admin.ok("POST", `/api/runs/${run.id}/approve`, {});
    const result = await answer;
    expect(result.isError, text(result)).toBe(false);
    expect(text(result)).toContain(markers["web-1"]);
    expect(result.structuredContent).toMatchObject({ runId: run.id, status: "succeeded" });
    expect(progress.some((m) => m.includes("web-1/read_file"))).toBe(true);
    const started = await admin.ok("GET", "/api/audit?action=run.start");
    expect(started[0]).toMatchObject({ actor: "admin (token job-runner)", target: run.id });
  });
});

describe("/mcp with the MCP Inspector CLI", () => {
  let ide = "";
  beforeAll(async () => {
    ide = await token(admin, { name: "inspector" });
  });

  it("--method tools/list lists the fleet's tools", async () => {
    const run = await runInspector([...httpTarget(`${core.url}/mcp`, ide), "--method", "tools/list"]);
    console.info(
      `inspector tools/list: exit ${run.code}\n--- stderr ---\n${run.stderr}--- stdout (head) ---\n${run.stdout.slice(0, 600)}`,
    );
    expect(run.code, run.stderr).toBe(0);
    // Its text output is the result, pretty-printed JSON.
    const listed = JSON.parse(run.stdout) as { tools: Array<{ name: string; annotations?: object }> };
    expect(listed.tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(["fabricore_list_nodes", "fabricore_run_job", "web-1__read_file", "stage-1__read_file"]),
    );
    expect(listed.tools.find((t) => t.name === "web-1__read_file")?.annotations).toMatchObject({ readOnlyHint: true });
  }, 120_000);

  it("--method tools/call reads the file on its Node; without the header it fails", async () => {
    const path = join(roots["stage-1"]!, "motd.txt");
    const call = await runInspector([
      ...httpTarget(`${core.url}/mcp`, ide),
      "--method",
      "tools/call",
      "--tool-name",
      "stage-1__read_file",
      "--tool-arg",
      `path=${path}`,
    ]);
    console.info(
      `inspector tools/call: exit ${call.code}\n--- stderr ---\n${call.stderr}--- stdout ---\n${call.stdout}`,
    );
    expect(call.code, call.stderr).toBe(0);
    expect(call.stdout).toContain(markers["stage-1"]);
    const audit = await admin.ok("GET", "/api/audit?action=mcp.tool.call");
    expect(audit[0]).toMatchObject({ outcome: "ok", detail: { token: "inspector", node: "stage-1" } });

    const refused = await runInspector([`${core.url}/mcp`, "--transport", "http", "--method", "tools/list"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).not.toContain("web-1__read_file");
  }, 120_000);
});
