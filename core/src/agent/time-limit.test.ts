import { afterEach, describe, expect, it, vi } from "vitest";
import { timeLimit } from "./time-limit.ts";

afterEach(() => void vi.useRealTimers());

describe("timeLimit", () => {
  it("aborts with a TimeoutError when the time is up", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const limit = timeLimit(1_000);
    vi.advanceTimersByTime(999);
    expect(limit.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(limit.signal.aborted).toBe(true);
    expect((limit.signal.reason as Error).name).toBe("TimeoutError");
  });

  it("clear() stops the timer: nothing is left pending and the signal never aborts", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const limit = timeLimit(3_600_000);
    expect(vi.getTimerCount()).toBe(1);
    limit.clear();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(3_600_000);
    expect(limit.signal.aborted).toBe(false);
  });

  it("a budget beyond setTimeout's range waits instead of firing at once", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const limit = timeLimit(30 * 86_400_000);
    vi.advanceTimersByTime(86_400_000);
    expect(limit.signal.aborted).toBe(false);
    limit.clear();
  });
});
