import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routesOf } from "../app.ts";
import { SQLITE_FILE } from "../database/index.ts";
import { startTestCore, type TestCore } from "../testing/test-core.ts";
import type { RouteRole } from "./auth.ts";

/**
 * SECURITY.md "Roles": the role every route needs, written out independently of the routes'
 * own declarations. A route added without a line here fails the first test, so nothing new ships
 * unclassified.
 */
const EXPECTED: Record<string, RouteRole> = {
  "POST /api/auth/login": "public",
  "GET /api/openapi.json": "public",
  "POST /api/webhook/:slug": "public",
  // The Node's own enrollment handshake (proof is in the request, not a user session).
  "POST /api/nodes/enroll": "public",
  "POST /api/nodes/challenge": "public",
  // The Node executable (what install.sh downloads): the same bytes make build-node writes.
  "GET /api/nodes/binary/:platform": "public",
  // The public half of the key Node builds are signed with (self-update); the Node pins it at enrollment.
  "GET /api/nodes/update-key": "public",
  "POST /api/auth/logout": "viewer",
  // Issue 22.7: every user changes their own password (knowing the current one).
  "POST /api/auth/password": "viewer",
  "GET /api/auth/me": "viewer",
  "POST /api/tokens": "viewer",
  "GET /api/tokens": "viewer",
  "DELETE /api/tokens/:id": "viewer",
  "GET /api/overview": "viewer",
  "GET /api/nodes": "viewer",
  "GET /api/nodes/:id": "viewer",
  "POST /api/nodes": "admin",
  "DELETE /api/nodes/:id": "admin",
  "GET /api/nodes/:id/stats/history": "viewer",
  "PATCH /api/nodes/:id": "admin",
  "POST /api/nodes/:id/rotate": "admin",
  // Staged Node rollout (issue 18): starting, cancelling and resuming one changes the fleet.
  "POST /api/nodes/update": "admin",
  "GET /api/nodes/rollouts": "viewer",
  "GET /api/nodes/rollouts/:id": "viewer",
  "POST /api/nodes/rollouts/:id/cancel": "admin",
  "POST /api/nodes/rollouts/:id/resume": "admin",
  "GET /api/providers": "viewer",
  "GET /api/providers/:id": "viewer",
  // Operator like the connection test: both make the Core call out to the provider (issue 15.6).
  "GET /api/providers/:id/models": "operator",
  "POST /api/providers": "admin",
  "PATCH /api/providers/:id": "admin",
  "DELETE /api/providers/:id": "admin",
  "POST /api/providers/:id/test": "operator",
  "POST /api/providers/test": "admin",
  "GET /api/secrets": "viewer",
  "GET /api/secrets/unreadable": "viewer",
  "POST /api/secrets": "admin",
  "DELETE /api/secrets/:name": "admin",
  "GET /api/jobs": "viewer",
  "GET /api/jobs/:id": "viewer",
  "POST /api/jobs": "operator",
  "PATCH /api/jobs/:id": "operator",
  "DELETE /api/jobs/:id": "operator",
  "POST /api/jobs/:id/run": "operator",
  "POST /api/cron/preview": "viewer",
  "GET /api/runs": "viewer",
  "GET /api/runs/stats": "viewer",
  "GET /api/runs/:id": "viewer",
  "GET /api/runs/:id/events": "viewer",
  "POST /api/runs/:id/cancel": "operator",
  "POST /api/runs/:id/approve": "operator",
  "POST /api/runs/:id/deny": "operator",
  "GET /api/mcp/presets": "viewer",
  "GET /api/nodes/:id/mcp": "viewer",
  "POST /api/nodes/:id/mcp": "admin",
  "DELETE /api/nodes/:id/mcp/:name": "admin",
  "POST /api/nodes/:id/mcp/:name/restart": "admin",
  "GET /api/nodes/:id/mcp/:name/logs": "operator",
  "GET /api/audit": "admin",
  // Channels hold webhook URLs and SMTP credentials (sealed, never returned): admins write them;
  // an operator may send a test message; everyone may read their names and kinds.
  "POST /api/channels": "admin",
  "GET /api/channels": "viewer",
  "GET /api/channels/:id": "viewer",
  "DELETE /api/channels/:id": "admin",
  "POST /api/channels/:id/test": "operator",
  // MCP clients' calls: the approvals their tokens' policies hold, and the calls made.
  "GET /api/mcp/approvals": "operator",
  "POST /api/mcp/approvals/:id/approve": "operator",
  "POST /api/mcp/approvals/:id/deny": "operator",
  "GET /api/mcp/calls": "operator",
  // The fleet as an MCP server: outside /api, its bearer token is checked by the endpoint itself
  // on every request (mcp-server/mcp-endpoint.ts; mcp-endpoint.test.ts proves the 401s).
  "GET /mcp": "public",
  "POST /mcp": "public",
  "DELETE /mcp": "public",
  "GET /api/users": "admin",
  "POST /api/users": "admin",
  "PATCH /api/users/:id": "admin",
  "DELETE /api/users/:id": "admin",
};

const RANK = { viewer: 0, operator: 1, admin: 2 } as const;

/** Valid bodies, so a 403 proves the role check and not a validation error. */
const BODIES: Record<string, unknown> = {
  "POST /api/tokens": { name: "t" },
  "POST /api/nodes": { name: "evil-node" },
  "POST /api/providers": { name: "evil", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" },
  "PATCH /api/providers/:id": { name: "renamed" },
  "POST /api/providers/test": { kind: "lmstudio", baseUrl: "http://127.0.0.1:9" },
  "POST /api/secrets": { name: "EVIL", value: "overwritten-value" },
  "POST /api/jobs": { name: "evil-job", prompt: "x", model: { provider: "p1", model: "m" } },
  "PATCH /api/jobs/:id": { prompt: "changed by someone without the role" },
  "POST /api/jobs/:id/run": {},
  "POST /api/cron/preview": { cron: "0 8 * * *" },
  "POST /api/runs/:id/deny": { reason: "no" },
  "POST /api/nodes/:id/mcp": { name: "evil", image: "busybox" },
  "POST /api/users": { username: "evil", password: "evil-password-123", role: "admin" },
  "PATCH /api/users/:id": { role: "admin" },
};

let t: TestCore;
let ids: Record<string, string>;
const tokens: Record<"viewer" | "operator" | "admin", string> = { viewer: "", operator: "", admin: "" };

beforeAll(async () => {
  t = await startTestCore();
  tokens.admin = await t.login();
  tokens.operator = await t.userToken("operator");
  tokens.viewer = await t.userToken("viewer");
  const node = await t.connectNode("web-1");
  const provider = await t.api(tokens.admin, "POST", "/api/providers", {
    name: "p1",
    kind: "lmstudio",
    baseUrl: "http://127.0.0.1:9",
    apiKey: "provider-key-should-never-show",
  });
  await t.api(tokens.admin, "POST", "/api/secrets", { name: "DB_PASSWORD", value: "hunter2-but-longer" });
  const job = await t.api(tokens.admin, "POST", "/api/jobs", {
    name: "disk-report",
    prompt: "check",
    model: { provider: "p1", model: "m" },
    nodes: ["web-1"],
    webhook: { slug: "deploy", secret: "webhook-secret-value" },
  });
  const run = await t.api(tokens.admin, "POST", `/api/jobs/${job.body.id}/run`, {});
  const apiToken = await t.api(tokens.admin, "POST", "/api/tokens", { name: "ci" });
  const admin2 = await t.api(tokens.admin, "POST", "/api/users", {
    username: "second-admin",
    password: "second-admin-password",
    role: "admin",
  });
  ids = {
    id: job.body.id,
    node: node.id,
    provider: provider.body.id,
    job: job.body.id,
    run: run.body.runId,
    token: apiToken.body.id,
    user: admin2.body.id,
  };
  // Let the run finish so its event stream ends at once.
  for (let i = 0; i < 100; i++) {
    const r = await t.api(tokens.admin, "GET", `/api/runs/${ids.run}`);
    if (["succeeded", "failed"].includes(r.body.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

afterAll(async () => {
  await t?.close();
});

/** The route's URL with real ids of existing things (`real`) or of nothing (`fake`). */
function fill(method: string, url: string, real: boolean): string {
  const pick = (kind: string) => (real ? (ids[kind] ?? "x") : "does-not-exist");
  return (
    url
      .replace(":slug", real ? "deploy" : "does-not-exist")
      .replace(":name", url.includes("/secrets/") ? (real ? "DB_PASSWORD" : "NOPE") : "x")
      .replace(":id", () => {
        if (url.startsWith("/api/nodes")) return pick("node");
        if (url.startsWith("/api/providers")) return pick("provider");
        if (url.startsWith("/api/jobs")) return pick("job");
        if (url.startsWith("/api/runs")) return pick("run");
        if (url.startsWith("/api/tokens")) return pick("token");
        if (url.startsWith("/api/users")) return pick("user");
        return pick("id");
      }) + (method === "GET" && url === "/api/runs" ? "?limit=5" : "")
  );
}

function apiRoutes() {
  return routesOf(t.core.app).filter((r) => r.url.startsWith("/api/"));
}

/** Everything a write could touch, as rows (last-used times and the audit log aside: reading
 * is allowed to update a token's last use and to be audited). */
function snapshot(): string {
  const db = new SqliteDatabase(join(t.dataDir, SQLITE_FILE), { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>;
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) {
      if (name === "audit_log" || name.startsWith("kysely_")) continue;
      const rows = db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>;
      out[name] = rows
        .map((row) => {
          const { last_used_at: _ignored, last_seen_at: _seen, ...rest } = row;
          return JSON.stringify(rest);
        })
        .sort();
    }
    return JSON.stringify(out);
  } finally {
    db.close();
  }
}

describe("roles on every route (SECURITY.md: Roles)", () => {
  it("every /api route declares the role SECURITY.md gives it", () => {
    const declared = Object.fromEntries(apiRoutes().map((r) => [`${r.method} ${r.url}`, r.role]));
    const expected = Object.fromEntries(Object.keys(declared).map((k) => [k, EXPECTED[k] ?? "(unclassified)"]));
    expect(declared).toEqual(expected);
    expect(apiRoutes().length).toBeGreaterThan(40);
  });

  it("without a token every non-public /api route answers 401", async () => {
    for (const route of apiRoutes().filter((r) => r.role !== "public")) {
      const key = `${route.method} ${route.url}`;
      const res = await t.api(undefined, route.method as never, fill(route.method, route.url, true), BODIES[key]);
      expect(res.status, key).toBe(401);
      expect(res.body.error.code, key).toBe("unauthorized");
    }
  });

  for (const who of ["viewer", "operator"] as const) {
    it(`a ${who} gets 403 from every route above its role, and nothing changes`, async () => {
      const before = snapshot();
      const refused: string[] = [];
      for (const route of apiRoutes()) {
        if (route.role === "public" || RANK[route.role as keyof typeof RANK] <= RANK[who]) continue;
        const key = `${route.method} ${route.url}`;
        const res = await t.api(tokens[who], route.method as never, fill(route.method, route.url, true), BODIES[key]);
        expect(res.status, key).toBe(403);
        expect(res.body.error, key).toMatchObject({ code: "forbidden" });
        refused.push(key);
      }
      expect(snapshot()).toBe(before);
      if (who === "viewer") {
        // Every write a viewer could attempt is among them, except the self-service ones.
        const writes = apiRoutes().filter((r) => r.method !== "GET" && r.role !== "public");
        const selfService = [
          "POST /api/auth/logout",
          "POST /api/auth/password",
          "POST /api/tokens",
          "DELETE /api/tokens/:id",
          "POST /api/cron/preview",
        ];
        for (const w of writes) {
          const key = `${w.method} ${w.url}`;
          if (!selfService.includes(key)) expect(refused, key).toContain(key);
        }
      } else {
        expect(refused.every((k) => EXPECTED[k] === "admin")).toBe(true);
      }
    });
  }

  for (const who of ["viewer", "operator", "admin"] as const) {
    it(`a ${who} passes the role check of every route at or below its role`, async () => {
      for (const route of apiRoutes()) {
        if (route.role === "public" || RANK[route.role as keyof typeof RANK] > RANK[who]) continue;
        const key = `${route.method} ${route.url}`;
        if (key === "POST /api/auth/logout") continue; // would end the session the walk uses
        // Writes go to things that do not exist (404/400/409): past the role check, harmless.
        const real = route.method === "GET";
        const res = await t.api(tokens[who], route.method as never, fill(route.method, route.url, real), BODIES[key]);
        expect([401, 403], `${key} → ${res.status} ${JSON.stringify(res.body)}`).not.toContain(res.status);
      }
    });
  }

  it("a viewer reads no secret value, provider key, webhook secret or token", async () => {
    const seen: string[] = [];
    for (const route of apiRoutes().filter((r) => r.method === "GET" && r.role === "viewer")) {
      const res = await t.api(tokens.viewer, "GET", fill("GET", route.url, true));
      seen.push(JSON.stringify(res.body));
    }
    const all = seen.join("\n");
    for (const value of ["hunter2-but-longer", "provider-key-should-never-show", "webhook-secret-value"]) {
      expect(all).not.toContain(value);
    }
    expect(all).not.toMatch(/fc[tsn]_[A-Za-z0-9_-]{20,}/);
  });

  it("the last admin cannot be demoted or deleted; users are admin-managed", async () => {
    const users = await t.api(tokens.admin, "GET", "/api/users");
    const admin = users.body.find((u: { username: string }) => u.username === "admin");
    for (const other of users.body.filter(
      (u: { role: string; id: string }) => u.role === "admin" && u.id !== admin.id,
    )) {
      expect((await t.api(tokens.admin, "DELETE", `/api/users/${other.id}`)).status).toBe(200);
    }
    const demote = await t.api(tokens.admin, "PATCH", `/api/users/${admin.id}`, { role: "viewer" });
    expect(demote.status).toBe(409);
    const self = await t.api(tokens.admin, "DELETE", `/api/users/${admin.id}`);
    expect(self.status).toBe(409);
  });
});
