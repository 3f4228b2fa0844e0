import { describe, expect, it } from "vitest";
import { mcpServerOf, mcpSource, parseToolRef, qualifiedToolRef, refMatches, toolLabel, toolRef } from "./tool-ref.ts";
import { ToolSource } from "./tools.ts";

const readFile = { source: "builtin", name: "read_file" };
const ghSearch = { source: "mcp:github", name: "search" };
const fsRead = { source: "mcp:fs", name: "read_file" };

describe("tool references", () => {
  it("builds and reads MCP sources", () => {
    expect(mcpSource("github")).toBe("mcp:github");
    expect(mcpServerOf("mcp:github")).toBe("github");
    expect(mcpServerOf("builtin")).toBeUndefined();
    expect(ToolSource.safeParse(mcpSource("a.b-c_d")).success).toBe(true);
    expect(ToolSource.safeParse("mcp:a/b").success).toBe(false);
  });

  it("names a built-in by its name and an MCP tool qualified; labels drop the mcp: prefix", () => {
    expect(toolRef(readFile)).toBe("read_file");
    expect(toolRef(fsRead)).toBe("mcp:fs/read_file");
    expect(qualifiedToolRef(readFile)).toBe("builtin/read_file");
    expect(toolLabel(fsRead)).toBe("fs/read_file");
    expect(toolLabel(readFile)).toBe("read_file");
  });

  it("parses a bare name, a qualified reference and a whole source", () => {
    expect(parseToolRef("read_file")).toEqual({ kind: "name", name: "read_file" });
    expect(parseToolRef("mcp:fs/read_file")).toEqual({ kind: "qualified", source: "mcp:fs", name: "read_file" });
    // Only the first slash after a valid source splits: the name may hold slashes of its own.
    expect(parseToolRef("mcp:fs/a/b")).toEqual({ kind: "qualified", source: "mcp:fs", name: "a/b" });
    expect(parseToolRef("mcp:github")).toEqual({ kind: "source", source: "mcp:github" });
    expect(parseToolRef("builtin")).toEqual({ kind: "source", source: "builtin" });
    expect(parseToolRef("other/x")).toEqual({ kind: "name", name: "other/x" });
  });

  it("matches a name, a qualified reference, and a whole source only where allowed", () => {
    expect(refMatches("read_file", readFile)).toBe(true);
    expect(refMatches("read_file", fsRead)).toBe(true);
    expect(refMatches("builtin/read_file", readFile)).toBe(true);
    expect(refMatches("builtin/read_file", fsRead)).toBe(false);
    expect(refMatches("mcp:fs/read_file", fsRead)).toBe(true);
    expect(refMatches("mcp:fs/read_file", readFile)).toBe(false);
    expect(refMatches("mcp:github", ghSearch)).toBe(false);
    expect(refMatches("mcp:github", ghSearch, { wholeSource: true })).toBe(true);
    expect(refMatches("mcp:github", fsRead, { wholeSource: true })).toBe(false);
    expect(refMatches("search", ghSearch)).toBe(true);
    expect(refMatches("mcp:github/other", ghSearch)).toBe(false);
  });
});
