import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../logger.ts";
import { FORWARDER_HOST, FORWARDER_PORT } from "./egress-forwarder.ts";
import { EgressGate, proxyEnv } from "./egress-gate.ts";

describe("the environment of a container with an allow list", () => {
  const env = new Map(proxyEnv().map((entry) => entry.split(/=(.*)/s, 2) as [string, string]));
  const forwarder = `http://${FORWARDER_HOST}:${FORWARDER_PORT}`;

  it("points every HTTP client convention at the forwarder on the container's loopback", () => {
    for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"])
      expect(env.get(name), name).toBe(forwarder);
    for (const name of ["NO_PROXY", "no_proxy"]) expect(env.get(name), name).toBe("localhost,127.0.0.1,::1");
  });

  it("tells Node.js to honour them: without NODE_USE_ENV_PROXY=1 Node 24's fetch ignores HTTPS_PROXY", () => {
    // Every npm MCP server (brave-search among them) calls fetch: without this it would try its own
    // DNS in a container that has none and fail, instead of going through the egress proxy
    // (e2e/mcp-brave-egress.test.ts shows the whole path).
    expect(env.get("NODE_USE_ENV_PROXY")).toBe("1");
  });
});

describe("EgressGate", () => {
  let dir = "";
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses an allow list when the Node cannot enter a container's network namespace", async () => {
    dir = mkdtempSync(join(tmpdir(), "fabricore-egress-gate-"));
    const gate = new EgressGate({
      dir,
      lookup: async () => [],
      logger: silentLogger,
      canEnterNamespaces: false,
    });
    await expect(gate.open("search", ["api.search.brave.com:443"])).rejects.toThrow(/need the Node to run as root/);
  });
});
