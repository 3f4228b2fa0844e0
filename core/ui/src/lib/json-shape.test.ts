import { describe, expect, it } from "vitest";
import { tableColumns } from "./json-shape.ts";

describe("tableColumns", () => {
  it("unions the keys of a list of objects in first-seen order", () => {
    expect(
      tableColumns([
        { node: "web-1", free: 12 },
        { node: "db-1", ok: false },
      ]),
    ).toEqual(["node", "free", "ok"]);
  });
  it("is null for a list that is not all plain objects, an empty list, or too wide a record", () => {
    expect(tableColumns([{ a: 1 }, [1]])).toBeNull();
    expect(tableColumns([1, 2])).toBeNull();
    expect(tableColumns([])).toBeNull();
    expect(tableColumns([Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`k${i}`, i]))])).toBeNull();
  });
});
