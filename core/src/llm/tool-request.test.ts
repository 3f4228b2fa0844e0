import { describe, expect, it } from "vitest";
import { canonicalArguments, normaliseToolCalls, ToolCallAssembler } from "./tool-calls.ts";
import { parseToolRequests, ToolRequestTextFilter } from "./tool-request.ts";

describe("parseToolRequests", () => {
  it("extracts every block, accepts string arguments, and keeps the surrounding text", () => {
    const content =
      'Sure.\n[TOOL_REQUEST]{"name": "a", "arguments": {"x": 1}}[END_TOOL_REQUEST]\n' +
      '[TOOL_REQUEST]{"name": "b", "arguments": "{\\"y\\": 2}"}[END_TOOL_REQUEST] done';
    const parsed = parseToolRequests(content, "t");
    expect(parsed.text).toBe("Sure.\n\n done");
    expect(parsed.toolCalls).toEqual([
      { id: "t0", name: "a", arguments: '{"x":1}' },
      { id: "t1", name: "b", arguments: '{"y": 2}' },
    ]);
  });

  it("takes an unterminated block to the end, and reports blocks it cannot read", () => {
    expect(parseToolRequests('[TOOL_REQUEST]{"name": "a", "arguments": {}}', "t").toolCalls).toEqual([
      { id: "t0", name: "a", arguments: "{}" },
    ]);
    const [bad] = parseToolRequests('[TOOL_REQUEST]{"arguments": {}}[END_TOOL_REQUEST]', "t").toolCalls;
    expect(bad!.parseError).toBe('the tool request has no "name"');
  });
});

describe("ToolRequestTextFilter", () => {
  it("hides blocks even when the markers are split across deltas", () => {
    const out: string[] = [];
    const f = new ToolRequestTextFilter((t) => out.push(t));
    for (const d of ["Hello [TOOL", "_REQ", 'UEST]{"name":"a"}[END_TOOL', "_REQUEST] bye [", "x"]) f.push(d);
    f.end();
    expect(out.join("")).toBe("Hello  bye [x");
  });
});

describe("tool call assembly", () => {
  it("concatenates pieces per index", () => {
    const a = new ToolCallAssembler();
    a.add({ index: 0, id: "1", function: { name: "read_file", arguments: "" } });
    a.add({ index: 1, id: "2", function: { name: "stats", arguments: "{" } });
    a.add({ index: 0, function: { arguments: '{"path"' } });
    a.add({ index: 1, function: { arguments: "}" } });
    a.add({ index: 0, function: { arguments: ':"/a"}' } });
    expect(a.finish()).toEqual([
      { id: "1", name: "read_file", arguments: '{"path":"/a"}' },
      { id: "2", name: "stats", arguments: "{}" },
    ]);
  });

  it("normalises: fills missing ids, makes ids unique, drops exact repeats", () => {
    expect(
      normaliseToolCalls(
        [
          { id: "", name: "a", arguments: '{"x":1,"y":2}' },
          { id: "", name: "a", arguments: '{ "y": 2, "x": 1 }' },
          { id: "k", name: "b", arguments: "{}" },
          { id: "k", name: "b", arguments: '{"z":1}' },
        ],
        "c",
      ),
    ).toEqual([
      { id: "c0", name: "a", arguments: '{"x":1,"y":2}' },
      { id: "k", name: "b", arguments: "{}" },
      { id: "k_3", name: "b", arguments: '{"z":1}' },
    ]);
    expect(canonicalArguments("")).toBe("{}");
  });
});
