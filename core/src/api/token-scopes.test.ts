import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../testing/test-core.ts";

/** Scoped tokens on the REST API: the same reach as on /mcp (issue 16). */
let t: TestCore;
let admin: string;
let prod: string;
let stage: string;

beforeAll(async () => {
  t = await startTestCore();
  admin = await t.login();
  prod = (await t.connectNode("web-1", { env: "prod" })).id;
  stage = (await t.connectNode("stage-1", { env: "staging" })).id;
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
  for (const [name, node] of [
    ["prod-job", "web-1"],
    ["stage-job", "stage-1"],
  ]) {
    await t.api(admin, "POST", "/api/jobs", {
      name,
      prompt: "p",
      model: { provider: "p1", model: "m" },
      nodes: [node],
    });
  }
});

afterAll(async () => t?.close());

async function token(body: Record<string, unknown>): Promise<string> {
  return (await t.api(admin, "POST", "/api/tokens", body)).body.token;
}

describe("scoped tokens on the REST API", () => {
  it("list only the Nodes the selector matches; a Node outside it is 403", async () => {
    const scoped = await token({ name: "stg", scopes: { selector: "env=staging" } });
    const nodes = (await t.api(scoped, "GET", "/api/nodes")).body;
    expect(nodes.map((n: { name: string }) => n.name)).toEqual(["stage-1"]);
    expect((await t.api(scoped, "GET", `/api/nodes/${stage}`)).status).toBe(200);
    const outside = await t.api(scoped, "GET", `/api/nodes/${prod}`);
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe("forbidden");
    // The unscoped token of the same user sees both.
    expect((await t.api(admin, "GET", "/api/nodes")).body).toHaveLength(2);
  });

  it("run a job only inside the scope, and change nothing else", async () => {
    const scoped = await token({ name: "stg-run", scopes: { selector: "env=staging" } });
    expect((await t.api(scoped, "POST", "/api/jobs/stage-job/run", {})).status).toBe(202);
    const refused = await t.api(scoped, "POST", "/api/jobs/prod-job/run", {});
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain("outside this token's scope");
    const create = await t.api(scoped, "POST", "/api/jobs", {
      name: "x",
      prompt: "p",
      model: { provider: "p1", model: "m" },
    });
    expect(create.status).toBe(403);
    expect((await t.api(scoped, "DELETE", `/api/nodes/${prod}`)).status).toBe(403);
    expect((await t.api(admin, "GET", `/api/nodes/${prod}`)).status).toBe(200);
  });

  it("a token limited to tools runs no job at all", async () => {
    const tools = await token({ name: "stats-only", scopes: { tools: ["system_stats"] } });
    expect((await t.api(tools, "POST", "/api/jobs/stage-job/run", {})).status).toBe(403);
  });
});
