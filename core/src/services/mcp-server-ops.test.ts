/**
 * Retry/Restart and logs of one MCP server through the API (issue 22.5), in process: a real Core
 * and the real Node program (its connection manager) on an in-memory pair, whose MCP side answers
 * what the test sets. What is under test is the Core: the route's roles, the request reaching the
 * Node and its answer, redaction of secrets and of the server's own settings, errors, the audit.
 * node/src/mcp/server-ops.docker.test.ts and e2e/mcp-ops.test.ts cover the Node's side with Docker.
 */
import type { McpLogsResult, McpServerSpec, McpServerStatus } from "@fabricore/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

let t: TestCore;
let token: string;

beforeAll(async () => {
  t = await startTestCore();
  token = await t.login();
});

afterAll(async () => {
  await t?.close();
});

const SECRET = "sk-live-very-secret-4711";
const PLAIN = "plain-setting-value-99";

describe("POST /api/nodes/:id/mcp/:name/restart and GET …/logs", () => {
  it("asks the Node, answers its new state and its redacted log lines, and audits the restart", async () => {
    const asked: string[] = [];
    let desired: McpServerSpec[] = [];
    let state: McpServerStatus = {
      name: "thing",
      state: "failed",
      error: `boom: ${SECRET}`,
      toolCount: 0,
      restarts: 8,
    };
    const { id, node } = await t.connectNode(
      "ops-node",
      {},
      {
        onDesiredMcpServers: async (specs) => {
          desired = specs;
          return specs.map(() => state);
        },
        mcpStatus: () => [state],
        mcpOps: {
          restart: async (name) => {
            asked.push(`restart ${name}`);
            state = { name, state: "running", toolCount: 2, restarts: 9, containerId: "c0ffee" };
            return state;
          },
          logs: async (name, tail): Promise<McpLogsResult> => {
            asked.push(`logs ${name} ${tail}`);
            return {
              name,
              source: "node",
              truncated: false,
              lines: [
                { stream: "node", text: "starting" },
                { stream: "stderr", at: "2026-12-07T09:00:00Z", text: `token is ${SECRET}, mode is ${PLAIN}` },
              ],
            };
          },
        },
      },
    );
    try {
      expect((await t.api(token, "POST", "/api/secrets", { name: "thing-key", value: SECRET })).status).toBe(201);
      const added = await t.api(token, "POST", `/api/nodes/${id}/mcp`, {
        name: "thing",
        image: "fabricore-test/hostile:latest",
        settings: { API_KEY: { secret: "thing-key" }, MODE: PLAIN },
      });
      expect(added.status, JSON.stringify(added.body)).toBe(201);
      await expect.poll(() => desired.length).toBe(1);
      // The Node did get the values; the API never shows them.
      expect(desired[0]).toMatchObject({ env: { API_KEY: SECRET, MODE: PLAIN } });
      const listed = await t.api(token, "GET", `/api/nodes/${id}/mcp`);
      expect(listed.body[0].error).toBe("boom: [secret:thing-key]");

      const viewer = await t.userToken("viewer");
      const operator = await t.userToken("operator");
      expect((await t.api(operator, "POST", `/api/nodes/${id}/mcp/thing/restart`)).status).toBe(403);
      expect((await t.api(viewer, "GET", `/api/nodes/${id}/mcp/thing/logs`)).status).toBe(403);

      const restarted = await t.api(token, "POST", `/api/nodes/${id}/mcp/thing/restart`);
      expect(restarted.status, JSON.stringify(restarted.body)).toBe(200);
      expect(restarted.body).toMatchObject({
        name: "thing",
        kind: "managed",
        state: "running",
        restarts: 9,
        error: null,
      });

      const logs = await t.api(operator, "GET", `/api/nodes/${id}/mcp/thing/logs?tail=50`);
      expect(logs.status, JSON.stringify(logs.body)).toBe(200);
      expect(logs.body).toEqual({
        node: "ops-node",
        name: "thing",
        source: "node",
        truncated: false,
        lines: [
          { stream: "node", text: "starting" },
          {
            stream: "stderr",
            at: "2026-12-07T09:00:00Z",
            text: "token is [secret:thing-key], mode is [setting:MODE]",
          },
        ],
      });
      expect(asked).toEqual(["restart thing", "logs thing 50"]);
      expect((await t.api(operator, "GET", `/api/nodes/${id}/mcp/thing/logs?tail=5000`)).status).toBe(400);
      expect((await t.api(operator, "GET", `/api/nodes/${id}/mcp/thing/logs?tail=0`)).status).toBe(400);

      const audit = await t.api(token, "GET", `/api/audit?target=${encodeURIComponent(`${id}/thing`)}`);
      const actions = (audit.body.items ?? audit.body).map((e: { action: string }) => e.action);
      expect(actions).toContain("mcp.restart");
      expect(JSON.stringify(audit.body)).not.toContain(SECRET);

      expect((await t.api(token, "POST", `/api/nodes/${id}/mcp/nope/restart`)).status).toBe(404);
      expect((await t.api(token, "GET", `/api/nodes/${id}/mcp/nope/logs`)).status).toBe(404);
    } finally {
      await node.manager.stop();
    }
    // The Node gone: 503 node_offline, not a hang.
    const offline = await t.api(token, "POST", `/api/nodes/${id}/mcp/thing/restart`);
    expect(offline.status).toBe(503);
    expect(offline.body.error.code).toBe("node_offline");
  });

  it("a Node without MCP support, or one that does not run the server, is a 409 with the Node's reason", async () => {
    const { id, node } = await t.connectNode("no-ops");
    try {
      expect(
        (await t.api(token, "POST", `/api/nodes/${id}/mcp`, { name: "r", url: "http://127.0.0.1:9/mcp" })).status,
      ).toBe(201);
      const restart = await t.api(token, "POST", `/api/nodes/${id}/mcp/r/restart`);
      expect(restart.status).toBe(409);
      expect(restart.body.error.message).toMatch(/runs no MCP servers/);
      const logs = await t.api(token, "GET", `/api/nodes/${id}/mcp/r/logs`);
      expect(logs.status).toBe(409);
    } finally {
      await node.manager.stop();
    }
  });

  it("a server whose secret is gone is not restarted: it was never sent to the Node", async () => {
    const node = await t.api(token, "POST", "/api/nodes", { name: "gone-secret" });
    expect((await t.api(token, "POST", "/api/secrets", { name: "short-lived", value: "value-1234567" })).status).toBe(
      201,
    );
    expect(
      (
        await t.api(token, "POST", `/api/nodes/${node.body.id}/mcp`, {
          name: "s",
          image: "x/y",
          settings: { K: { secret: "short-lived" } },
        })
      ).status,
    ).toBe(201);
    await t.api(token, "DELETE", "/api/secrets/short-lived");
    const restart = await t.api(token, "POST", `/api/nodes/${node.body.id}/mcp/s/restart`);
    expect(restart.status).toBe(409);
    expect(restart.body.error.message).toMatch(/not sent to the Node: .*no secret named short-lived/);
  });
});
