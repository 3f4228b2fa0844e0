import type { ToolDescriptor } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import type { FleetNode } from "../database/types.ts";
import { selectorMatches } from "../services/token-scopes.ts";
import { FleetCatalog } from "./fleet-catalog.ts";

const tool = (name: string, description = name): ToolDescriptor =>
  ({ name, source: "builtin", description, inputSchema: { type: "object", properties: {} } }) as ToolDescriptor;

function fleet(count: number, tools: ToolDescriptor[]) {
  const nodes = Array.from(
    { length: count },
    (_, i) => ({ id: `n${i}`, name: `web-${i}`, labels: { env: i % 2 ? "prod" : "staging" } }) as unknown as FleetNode,
  );
  // The hub keeps one shared list for Nodes with identical tools, and replaces a Node's list.
  const live = new Map(nodes.map((n) => [n.id, { tools }]));
  const catalog = new FleetCatalog({
    listNodes: async () => nodes,
    hub: { get: (id: string) => live.get(id) as never },
    selectorMatches,
  });
  return { nodes, live, catalog };
}

describe("FleetCatalog", () => {
  it("names every Node's tools <node>__<tool> and lists them per Node", async () => {
    const { catalog } = fleet(3, [tool("read_file"), tool("system_stats")]);
    const built = await catalog.build(undefined);
    expect(built.tools.map((t) => t.modelName)).toEqual([
      "web-0__read_file",
      "web-0__system_stats",
      "web-1__read_file",
      "web-1__system_stats",
      "web-2__read_file",
      "web-2__system_stats",
    ]);
    expect(built.nodes.map((n) => n.tools)).toEqual([
      ["web-0__read_file", "web-0__system_stats"],
      ["web-1__read_file", "web-1__system_stats"],
      ["web-2__read_file", "web-2__system_stats"],
    ]);
    const scoped = await catalog.build({ selector: "env=prod", tools: ["read_file"] });
    expect(scoped.tools.map((t) => t.modelName)).toEqual(["web-1__read_file"]);
    expect(scoped.nodes).toEqual([expect.objectContaining({ name: "web-1", tools: ["web-1__read_file"] })]);
  });

  it("sees a Node's new tool list, a rename, a Node gone offline and a new Node at once", async () => {
    const { nodes, live, catalog } = fleet(2, [tool("read_file")]);
    const first = await catalog.build(undefined);
    live.set("n1", { tools: [tool("read_file"), tool("exec_command")] });
    const changed = await catalog.build(undefined);
    expect(changed.tools.map((t) => t.modelName)).toContain("web-1__exec_command");
    expect(changed.digest).not.toBe(first.digest);
    nodes[0] = { ...nodes[0]!, name: "db-0" };
    expect((await catalog.build(undefined)).tools.map((t) => t.modelName)).toContain("db-0__read_file");
    live.delete("n1");
    const offline = await catalog.build(undefined);
    expect(offline.tools.map((t) => t.modelName)).toEqual(["db-0__read_file"]);
    expect(offline.nodes.find((n) => n.id === "n1")?.status).toBe("offline");
    nodes.push({ ...nodes[0]!, id: "n2", name: "cache-2" });
    live.set("n2", { tools: [tool("read_file")] });
    expect((await catalog.build(undefined)).tools.map((t) => t.modelName)).toContain("cache-2__read_file");
    // Back to a state seen before: the same names and digest as then.
    live.delete("n2");
    nodes.pop();
    nodes[0] = { ...nodes[0]!, name: "web-0" };
    live.set("n1", { tools: [tool("read_file")] });
    const again = await catalog.build(undefined);
    expect(again.tools.map((t) => t.modelName)).toEqual(first.tools.map((t) => t.modelName));
    expect(again.digest).toBe(first.digest);
  });

  it("builds a 10,000-Node catalog in well under a second once its naming is known", async () => {
    // Was quadratic (every Node's tools filtered out of the whole list) and re-named the whole
    // fleet on every call: seconds per tools/call at this size.
    const { catalog } = fleet(10_000, [tool("read_file"), tool("system_stats"), tool("exec_command")]);
    await catalog.build(undefined);
    const started = performance.now();
    const built = await catalog.build(undefined);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(built.tools).toHaveLength(30_000);
    expect(built.byName.get("web-9999__exec_command")?.nodeId).toBe("n9999");
  });
});
