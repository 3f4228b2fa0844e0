import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../agent/testing/recording-llm-client.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/**
 * The fleet as an MCP server (issue 16), with the MCP SDK's own client over Streamable HTTP
 * against a whole Core on a real port and real Node programs (in-memory sockets): what a token
 * sees, what it may call, approvals, audit, scopes, sessions.
 */
let t: TestCore;
let base: string;
let admin: string;
const clients: Client[] = [];

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "fabricore-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function apiToken(session: string, body: Record<string, unknown>): Promise<string> {
  const res = await t.api(session, "POST", "/api/tokens", body);
  if (res.status !== 201) throw new Error(`token → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token;
}

function text(result: object): string {
  const content = "content" in result ? (result.content as Array<{ type: string; text?: string }>) : [];
  return content.map((c) => c.text ?? "").join("");
}

beforeAll(async () => {
  t = await startTestCore({ llm: () => new RecordingLlmClient([{ text: "all disks fine" }]) });
  base = (await t.core.listen()).replace("0.0.0.0", "127.0.0.1");
  admin = await t.login();
  await t.connectNode("web-1", { env: "prod" });
  await t.connectNode("stage-1", { env: "staging" });
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await t?.close();
});

describe("/mcp", () => {
  it("answers 401 with WWW-Authenticate without a token, with a bad one, and with the UI's cookie", async () => {
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: {} };
    const none = await fetch(`${base}/mcp`, {
      method: "POST",
      body: JSON.stringify(init),
      headers: { "content-type": "application/json" },
    });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm="FabriCore"/);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const bad = await fetch(`${base}/mcp`, {
      method: "POST",
      body: JSON.stringify(init),
      headers: { "content-type": "application/json", authorization: "Bearer fct_not-a-token" },
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const cookie = await fetch(`${base}/mcp`, {
      method: "POST",
      body: JSON.stringify(init),
      headers: { "content-type": "application/json", cookie: `fabricore_session=${admin}` },
    });
    expect(cookie.status).toBe(401);
  });

  it("sends a browser that opens /mcp to the MCP servers page; an MCP client's GET still gets 401", async () => {
    const browser = await fetch(`${base}/mcp?node=abc`, {
      redirect: "manual",
      headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    expect(browser.status).toBe(302);
    expect(browser.headers.get("location")).toBe("/mcp-servers?node=abc");
    const client = await fetch(`${base}/mcp`, { redirect: "manual", headers: { accept: "text/event-stream" } });
    expect(client.status).toBe(401);
  });

  it("lists every Node's tools as <node>__<tool> plus the fleet tools, and calls one on its Node", async () => {
    const client = await connect(await apiToken(admin, { name: "ide" }));
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "fabricore_list_nodes",
        "fabricore_run_job",
        "fabricore_call_tool",
        "web-1__system_stats",
        "stage-1__system_stats",
        "web-1__test__echo",
      ]),
    );
    const stats = tools.find((tool) => tool.name === "web-1__system_stats")!;
    expect(stats.annotations?.readOnlyHint).toBe(true);
    expect(stats.inputSchema.type).toBe("object");

    const result = await client.callTool({ name: "web-1__test__echo", arguments: { hello: "fleet" } });
    expect(result.isError).toBe(false);
    expect(text(result)).toBe(JSON.stringify({ hello: "fleet" }));

    const audit = (await t.api(admin, "GET", "/api/audit?action=mcp.tool.call")).body;
    expect(audit[0]).toMatchObject({
      actor: "admin",
      target: "web-1/mcp:test/echo",
      outcome: "ok",
      detail: { via: "mcp", token: "ide", node: "web-1", tool: "echo", arguments: { hello: "fleet" } },
    });
    const calls = (await t.api(admin, "GET", "/api/mcp/calls")).body;
    expect(calls[0]).toMatchObject({ user: "admin", token: "ide", target: "web-1/mcp:test/echo" });
  });

  it("fabricore_list_nodes filters by selector; fabricore_call_tool reaches a tool by Node and name", async () => {
    const client = await connect(await apiToken(admin, { name: "lister" }));
    const listed = await client.callTool({ name: "fabricore_list_nodes", arguments: { selector: "env=prod" } });
    const nodes = (listed.structuredContent as { nodes: Array<{ name: string; status: string }> }).nodes;
    expect(nodes.map((n) => n.name)).toEqual(["web-1"]);
    expect(nodes[0]!.status).toBe("online");
    const bad = await client.callTool({ name: "fabricore_list_nodes", arguments: { selector: "env in (" } });
    expect(bad.isError).toBe(true);
    const called = await client.callTool({
      name: "fabricore_call_tool",
      arguments: { node: "stage-1", tool: "mcp:test/echo", arguments: { n: 1 } },
    });
    expect(text(called)).toBe('{"n":1}');
  });

  it("a viewer's token lists the tools but every call is refused and audited as denied", async () => {
    const viewer = await t.userToken("viewer");
    const client = await connect(await apiToken(viewer, { name: "viewer-ide" }));
    expect((await client.listTools()).tools.length).toBeGreaterThan(3);
    const result = await client.callTool({ name: "web-1__test__echo", arguments: {} });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain("viewer");
    const job = await client.callTool({ name: "fabricore_run_job", arguments: { job: "anything" } });
    expect(job.isError).toBe(true);
    const audit = (await t.api(admin, "GET", "/api/audit?action=mcp.tool.call")).body;
    expect(audit[0]).toMatchObject({ outcome: "denied", detail: { token: "viewer-ide", reason: "viewer" } });
  });

  it("an operator may not make a token above its role; a token asked with a lower role gets that role", async () => {
    const operator = await t.userToken("operator");
    const above = await t.api(operator, "POST", "/api/tokens", { name: "x", role: "admin" });
    expect(above.status).toBe(403);
    const lower = await t.api(operator, "POST", "/api/tokens", { name: "ro", role: "viewer" });
    expect(lower.body.role).toBe("viewer");
    const client = await connect(lower.body.token);
    expect((await client.callTool({ name: "web-1__system_stats", arguments: {} })).isError).toBe(true);
    expect((await t.api(lower.body.token, "POST", "/api/jobs", { name: "j" })).status).toBe(403);
  });

  it("a scoped token sees and calls only the Nodes its selector matches and the tools it names", async () => {
    const token = await apiToken(admin, {
      name: "staging-ide",
      scopes: { selector: "env=staging", tools: ["system_stats"] },
    });
    const client = await connect(token);
    const names = (await client.listTools()).tools.map((tool) => tool.name).filter((n) => !n.startsWith("fabricore_"));
    expect(names).toEqual(["stage-1__system_stats"]);
    expect((await client.callTool({ name: "web-1__system_stats", arguments: {} })).isError).toBe(true);
    expect((await client.callTool({ name: "stage-1__test__echo", arguments: {} })).isError).toBe(true);
    const ok = await client.callTool({ name: "stage-1__system_stats", arguments: {} });
    expect(ok.isError).toBe(false);
    const listed = await client.callTool({ name: "fabricore_list_nodes", arguments: {} });
    expect((listed.structuredContent as { nodes: Array<{ name: string }> }).nodes.map((n) => n.name)).toEqual([
      "stage-1",
    ]);
    // A scoped token cannot mint itself a wider one.
    expect((await t.api(token, "POST", "/api/tokens", { name: "wider" })).status).toBe(403);
    // A selector that does not parse is refused when the token is made.
    const bad = await t.api(admin, "POST", "/api/tokens", { name: "bad", scopes: { selector: "env in (a" } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("position");
  });

  it("a call the token's approval policy names waits until an operator approves it, or never runs when denied", async () => {
    const token = await apiToken(admin, { name: "gated", mcpApproval: { tools: ["echo"] } });
    const client = await connect(token);
    const progress: string[] = [];
    const pending = client.callTool({ name: "web-1__test__echo", arguments: { step: "approved" } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ""),
      timeout: 30_000,
    });
    let waiting: Array<{ id: string; tool: string; node: string; arguments: unknown; tokenName: string }> = [];
    for (let i = 0; i < 100 && waiting.length === 0; i++) {
      waiting = (await t.api(admin, "GET", "/api/mcp/approvals?status=pending")).body;
      if (waiting.length === 0) await new Promise((r) => setTimeout(r, 30));
    }
    expect(waiting[0]).toMatchObject({
      tool: "echo",
      node: "web-1",
      arguments: { step: "approved" },
      tokenName: "gated",
    });
    const before = (await t.api(admin, "GET", "/api/audit?action=mcp.tool.call")).body.length;
    expect((await t.api(admin, "POST", `/api/mcp/approvals/${waiting[0]!.id}/approve`, {})).status).toBe(200);
    const result = await pending;
    expect(text(result)).toBe('{"step":"approved"}');
    expect(progress.some((m) => m.includes("approval"))).toBe(true);
    expect((await t.api(admin, "GET", "/api/audit?action=mcp.tool.call")).body.length).toBe(before + 1);

    const denied = client.callTool({ name: "web-1__test__echo", arguments: { step: "denied" } });
    let next: Array<{ id: string }> = [];
    for (let i = 0; i < 100 && next.length === 0; i++) {
      next = (await t.api(admin, "GET", "/api/mcp/approvals?status=pending")).body;
      if (next.length === 0) await new Promise((r) => setTimeout(r, 30));
    }
    await t.api(admin, "POST", `/api/mcp/approvals/${next[0]!.id}/deny`, { reason: "not today" });
    const refused = await denied;
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("not today");
    // A second decision on the same call is a conflict, not a second run.
    expect((await t.api(admin, "POST", `/api/mcp/approvals/${next[0]!.id}/approve`, {})).status).toBe(409);
    // Calls the policy does not name go straight through.
    expect((await client.callTool({ name: "web-1__system_stats", arguments: {} })).isError).toBe(false);
  });

  it("fabricore_run_job runs a job as the token's user and answers with its output", async () => {
    await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: "disk-report",
      prompt: "check disks",
      model: { provider: "p1", model: "m" },
      nodes: ["web-1"],
    });
    expect(job.status).toBe(201);
    const client = await connect(await apiToken(admin, { name: "runner" }));
    const result = await client.callTool({ name: "fabricore_run_job", arguments: { job: "disk-report" } });
    expect(result.isError).toBe(false);
    expect(text(result)).toBe("all disks fine");
    const outcome = result.structuredContent as { runId: string; status: string };
    expect(outcome.status).toBe("succeeded");
    const run = (await t.api(admin, "GET", `/api/runs/${outcome.runId}`)).body;
    expect(run.trigger).toBe("manual");
    const started = (await t.api(admin, "GET", "/api/audit?action=run.start")).body;
    expect(started[0]).toMatchObject({ actor: "admin (token runner)", target: outcome.runId });
    // A token scoped to staging cannot run a job on a prod Node.
    const scoped = await connect(await apiToken(admin, { name: "stg", scopes: { selector: "env=staging" } }));
    const refused = await scoped.callTool({ name: "fabricore_run_job", arguments: { job: "disk-report" } });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain("outside this token's scope");
  });

  it("tells the client when the tool list changes (a Node comes online), and a revoked token is cut off", async () => {
    const token = await apiToken(admin, { name: "watcher" });
    const client = await connect(token);
    // A second session of the same token (the digest is computed once per token and check).
    const other = await connect(token);
    const changed = [client, other].map(
      (c) =>
        new Promise<void>((resolve) => c.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve())),
    );
    await client.listTools();
    await other.listTools();
    await t.connectNode("db-1", { env: "prod" });
    await Promise.all(changed);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain("db-1__system_stats");

    const id = (await t.api(admin, "GET", "/api/tokens")).body.find((tk: { name: string }) => tk.name === "watcher").id;
    await t.api(admin, "DELETE", `/api/tokens/${id}`);
    await expect(client.listTools()).rejects.toThrow();
  }, 20_000);

  it("a session belongs to the token that opened it", async () => {
    const a = await apiToken(admin, { name: "a" });
    const b = await apiToken(admin, { name: "b" });
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${a}` } },
    });
    const client = new Client({ name: "x", version: "1" });
    await client.connect(transport);
    clients.push(client);
    const res = await fetch(`${base}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        authorization: `Bearer ${b}`,
        "mcp-session-id": transport.sessionId!,
        "mcp-protocol-version": "2025-06-18",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} }),
    });
    expect(res.status).toBe(404);
  });
});
