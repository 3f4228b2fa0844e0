import { describe, expect, it } from "vitest";
import { LabelCap, OTHER_LABEL } from "./metric-label-cap.ts";

describe("LabelCap", () => {
  it("keeps the first max values and folds every later one into _other, for good", () => {
    const cap = new LabelCap(2);
    expect(cap.value("a")).toBe("a");
    expect(cap.value("b")).toBe("b");
    expect(cap.value("c")).toBe(OTHER_LABEL);
    // A kept value stays kept; a folded one stays folded.
    expect(cap.value("a")).toBe("a");
    expect(cap.value("c")).toBe(OTHER_LABEL);
    expect(cap.size).toBe(2);
  });

  it("cuts a very long value to 100 characters", () => {
    const cap = new LabelCap(5);
    expect(cap.value("x".repeat(500))).toBe("x".repeat(100));
    expect(cap.size).toBe(1);
  });
});
