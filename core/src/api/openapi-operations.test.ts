import { describe, expect, it } from "vitest";
import { OPERATIONS, PARTS } from "./openapi-operations.ts";

describe("OPERATIONS, one file per part of the API", () => {
  it("names each route in exactly one part (a spread would let a second one win silently)", () => {
    const seen = new Map<string, string[]>();
    for (const [part, operations] of Object.entries(PARTS))
      for (const key of Object.keys(operations)) seen.set(key, [...(seen.get(key) ?? []), part]);
    expect([...seen].filter(([, parts]) => parts.length > 1)).toEqual([]);
    expect(Object.keys(OPERATIONS).length).toBe(seen.size);
  });
});
