import { describe, expect, it } from "vitest";
import { nameToolsForModel, sanitizePart, TOOL_NAME_PATTERN, type ToolToName } from "./tool-names.ts";

const tool = (nodeId: string, nodeName: string, name: string, source = "builtin"): ToolToName => ({
  nodeId,
  nodeName,
  name,
  source,
  description: "",
  inputSchema: { type: "object" },
});

describe("nameToolsForModel", () => {
  it("keeps plain names for one Node", () => {
    const { tools } = nameToolsForModel([tool("n1", "web1", "read_file"), tool("n1", "web1", "search", "mcp:brave")]);
    expect(tools.map((t) => t.modelName)).toEqual(["read_file", "search"]);
  });

  it("puts the server in front of an MCP tool that shares a name with another source on the Node", () => {
    const { tools } = nameToolsForModel([
      tool("n1", "web1", "read_file"),
      tool("n1", "web1", "read_file", "mcp:filesystem"),
    ]);
    expect(tools.map((t) => t.modelName)).toEqual(["read_file", "filesystem__read_file"]);
  });

  it("names Node (and server) when a job spans several Nodes, and maps back exactly", () => {
    const input = [
      tool("n1", "web1", "read_file"),
      tool("n2", "db1", "read_file"),
      tool("n2", "db1", "query", "mcp:postgres"),
    ];
    const { tools, byModelName } = nameToolsForModel(input);
    expect(tools.map((t) => t.modelName)).toEqual(["web1__read_file", "db1__read_file", "db1__postgres__query"]);
    expect(byModelName.get("db1__read_file")).toMatchObject({ nodeId: "n2", name: "read_file", source: "builtin" });
    expect(byModelName.get("db1__postgres__query")).toMatchObject({
      nodeId: "n2",
      name: "query",
      source: "mcp:postgres",
    });
  });

  it("sanitises unicode and punctuation, and never produces the separator inside a part", () => {
    expect(sanitizePart("Café serveur #1")).toBe("Cafe_serveur_1");
    expect(sanitizePart("a__b")).toBe("a_b");
    const { tools } = nameToolsForModel([
      tool("n1", "Prod Ünïcode 🚀", "lire.fichier"),
      tool("n2", "сервер", "read_file"),
    ]);
    const names = tools.map((t) => t.modelName);
    expect(names[0]).toBe("Prod_Unicode__lire_fichier");
    // A name with nothing left after sanitising gets a stable hash of the Node id.
    expect(names[1]).toMatch(/^node[0-9a-f]{6}__read_file$/);
    for (const n of names) expect(n).toMatch(TOOL_NAME_PATTERN);
  });

  it("resolves collisions created by sanitising with a stable hash suffix", () => {
    const input = [
      tool("n1", "web", "get.item"),
      tool("n1", "web", "get item", "mcp:x"),
      tool("n1", "web", "get_item", "mcp:y"),
    ];
    const first = nameToolsForModel(input).tools.map((t) => t.modelName);
    // None of the three keeps the plain name (issue 21.9): which one it meant would be a guess.
    expect(new Set(first).size).toBe(3);
    for (const name of first) expect(name).toMatch(/^get_item_[0-9a-f]{6}$/);
    expect(nameToolsForModel(input).tools.map((t) => t.modelName)).toEqual(first);
  });

  it("keeps long names within 64 characters, shortening prefixes before the tool's name", () => {
    const longNode = "n".repeat(50);
    const { tools, byModelName } = nameToolsForModel([
      tool("n1", longNode, "read_file"),
      tool("n2", "short", "x".repeat(100), "mcp:server"),
      tool("n2", "short", "x".repeat(100) + "y", "mcp:server"),
    ]);
    for (const t of tools) {
      expect(t.modelName.length).toBeLessThanOrEqual(64);
      expect(t.modelName).toMatch(TOOL_NAME_PATTERN);
    }
    expect(tools[0]!.modelName.endsWith("__read_file")).toBe(true);
    expect(new Set(tools.map((t) => t.modelName)).size).toBe(3);
    expect(byModelName.size).toBe(3);
    for (const t of tools) expect(byModelName.get(t.modelName)).toBe(t);
  });
});
