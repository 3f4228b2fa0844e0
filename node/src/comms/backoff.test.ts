import { describe, expect, it } from "vitest";
import { fullJitterDelay } from "./backoff.ts";

describe("fullJitterDelay", () => {
  it("draws from [0, min(cap, base * 2^attempt))", () => {
    expect(fullJitterDelay(0, { baseMs: 500, capMs: 30_000 }, () => 0.999)).toBe(499);
    expect(fullJitterDelay(3, { baseMs: 500, capMs: 30_000 }, () => 0.5)).toBe(2_000);
    expect(fullJitterDelay(10, { baseMs: 500, capMs: 30_000 }, () => 0.999)).toBe(29_970);
    expect(fullJitterDelay(5_000, { baseMs: 500, capMs: 30_000 }, () => 0.5)).toBe(15_000);
    expect(fullJitterDelay(7, {}, () => 0)).toBe(0);
  });
});
