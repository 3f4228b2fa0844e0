/**
 * The MCP routes in process (Fastify inject, a real Core on a temp database, a real Node program on
 * an in-memory pair): what is refused before anything is stored, how a secret setting is stored
 * and shown, and that the list's state follows what the Node reports — or says why the Node was
 * never told. e2e/mcp-api.test.ts covers the same routes with Docker and the compiled Node.
 */
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

describe("MCP servers through the API", () => {
  it("refuses dangerous or malformed servers with the reason, storing nothing", async () => {
    const node = await t.api(token, "POST", "/api/nodes", { name: "refusals" });
    const cases: Array<[unknown, number, RegExp]> = [
      [
        { name: "a", preset: "filesystem", mounts: [{ source: "/run/docker.sock", target: "/d" }] },
        400,
        /Docker socket/,
      ],
      [
        { name: "b", preset: "filesystem", mounts: [{ source: "/var/run", target: "/d" }] },
        400,
        /contains the Docker socket/,
      ],
      [{ name: "c", preset: "filesystem", mounts: [{ source: "/", target: "/d" }] }, 400, /whole host/],
      [{ name: "d", preset: "filesystem", mounts: [{ source: "srv/x", target: "/d" }] }, 400, /not an absolute path/],
      [{ name: "e", preset: "filesystem", mounts: [{ source: "/srv/../etc", target: "/d" }] }, 400, /\.\./],
      [{ name: "f", preset: "filesystem", mounts: [{ source: "/srv/x", target: "/proc/x" }] }, 400, /\/proc/],
      [{ name: "g", preset: "filesystem" }, 400, /at least 1 mount/],
      [{ name: "h", preset: "no-such" }, 404, /unknown MCP preset/],
      [{ name: "i", preset: "brave-search" }, 400, /apiKey/],
      [
        { name: "j", preset: "brave-search", settings: { apiKey: { secret: "missing" } } },
        400,
        /no secret named missing/,
      ],
      [{ name: "k", url: "http://192.168.1.5:3001/mcp" }, 400, /loopback/],
      [{ name: "l", url: "http://127.0.0.1.nip.io/mcp" }, 400, /loopback/],
      [{ name: "m", preset: "filesystem", image: "x/y" }, 400, /either preset or image/],
      // Egress rules (CONTRACT "MCP containers and the network"): no bare *, no scheme, a real port.
      [{ name: "n1", image: "x/y", network: { allow: ["*"] } }, 400, /bare \*/],
      [{ name: "n2", image: "x/y", network: { allow: ["*:443"] } }, 400, /bare \*/],
      [{ name: "n3", image: "x/y", network: { allow: ["https://api.example.com:443"] } }, 400, /without a scheme/],
      [{ name: "n4", image: "x/y", network: { allow: ["api.example.com:70000"] } }, 400, /out of range/],
      [{ name: "n5", image: "x/y", network: { allow: ["api.example.com"] } }, 400, /port is required/],
      [{ name: "n6", image: "x/y", network: { allow: [] } }, 400, /allow/],
      [{ name: "n7", image: "x/y", network: "bridge" }, 400, /invalid/i],
    ];
    for (const [body, status, message] of cases) {
      const res = await t.api(token, "POST", `/api/nodes/${node.body.id}/mcp`, body);
      expect(res.status, JSON.stringify({ body, answer: res.body })).toBe(status);
      expect(res.body.error.code).toEqual(expect.any(String));
      expect(res.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await t.api(token, "GET", `/api/nodes/${node.body.id}/mcp`)).body).toEqual([]);
  });

  it("stores a secret setting by reference and says so when the secret is gone", async () => {
    const node = await t.api(token, "POST", "/api/nodes", { name: "offline-node" });
    const value = "bsk-secret-value-123";
    expect((await t.api(token, "POST", "/api/secrets", { name: "brave", value })).status).toBe(201);
    const added = await t.api(token, "POST", `/api/nodes/${node.body.id}/mcp`, {
      name: "search",
      preset: "brave-search",
      settings: { apiKey: { secret: "brave" } },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body).toMatchObject({
      name: "search",
      kind: "managed",
      preset: "brave-search",
      settings: { apiKey: { secret: "brave" } },
      network: { allow: ["api.search.brave.com:443"] },
      state: "offline",
      error: null,
    });
    const conflict = await t.api(token, "POST", `/api/nodes/${node.body.id}/mcp`, {
      name: "search",
      url: "http://127.0.0.1:1/mcp",
    });
    expect(conflict.status).toBe(409);

    expect((await t.api(token, "DELETE", "/api/secrets/brave")).status).toBeLessThan(300);
    const [server] = (await t.api(token, "GET", `/api/nodes/${node.body.id}/mcp`)).body;
    expect(server).toMatchObject({ name: "search", state: "failed" });
    expect(server.error).toMatch(/not sent to the Node: .*no secret named brave/);
    expect(JSON.stringify(server)).not.toContain(value);
  });

  it("shows what the Node reports: one without MCP support says so", async () => {
    const { id, node } = await t.connectNode("no-mcp");
    try {
      const res = await t.api(token, "POST", `/api/nodes/${id}/mcp`, { name: "remote", url: "http://127.0.0.1:9/mcp" });
      expect(res.status).toBe(201);
      await expect
        .poll(async () => (await t.api(token, "GET", `/api/nodes/${id}/mcp`)).body[0], { timeout: 5_000 })
        .toMatchObject({
          name: "remote",
          kind: "remote",
          state: "failed",
          error: "this Node runs without MCP support",
        });
      expect((await t.api(token, "DELETE", `/api/nodes/${id}/mcp/remote`)).status).toBe(200);
      expect((await t.api(token, "GET", `/api/nodes/${id}/mcp`)).body).toEqual([]);
      expect((await t.api(token, "DELETE", `/api/nodes/${id}/mcp/remote`)).status).toBe(404);
    } finally {
      await node.manager.stop();
    }
  });
});
