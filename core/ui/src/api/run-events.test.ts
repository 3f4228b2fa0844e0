import { describe, expect, it } from "vitest";
import { progressText } from "./run-events.ts";

describe("progressText", () => {
  it("shows done/total and the message, or the bare count without a total", () => {
    expect(progressText({ progress: 3, total: 10, message: "copying" })).toBe("3/10: copying");
    expect(progressText({ progress: 3, total: 10 })).toBe("3/10");
    expect(progressText({ progress: 42 })).toBe("42");
    expect(progressText({ progress: 1, total: 0, message: "starting" })).toBe("1: starting");
  });
});
