import { describe, expect, it } from "vitest";
import { remainingDeadlineMs } from "./deadline.ts";

describe("remainingDeadlineMs", () => {
  it("is fixed from the start without a maximum, whatever the progress", () => {
    expect(remainingDeadlineMs({ deadlineMs: 1000 }, 0, undefined, 400)).toBe(600);
    expect(remainingDeadlineMs({ deadlineMs: 1000 }, 0, 900, 950)).toBe(50);
  });

  it("is fixed from the start with a maximum but no progress yet", () => {
    expect(remainingDeadlineMs({ deadlineMs: 1000, maxDeadlineMs: 10_000 }, 0, undefined, 999)).toBe(1);
  });

  it("restarts the deadline at each progress", () => {
    const call = { deadlineMs: 1000, maxDeadlineMs: 10_000 };
    expect(remainingDeadlineMs(call, 0, 900, 900)).toBe(1000);
    expect(remainingDeadlineMs(call, 0, 4500, 5000)).toBe(500);
  });

  it("never passes the maximum from the start", () => {
    const call = { deadlineMs: 1000, maxDeadlineMs: 5000 };
    expect(remainingDeadlineMs(call, 0, 4800, 4800)).toBe(200);
    expect(remainingDeadlineMs(call, 0, 4800, 6000)).toBe(0);
  });

  it("never shortens the base deadline (early progress, or a maximum below it)", () => {
    expect(remainingDeadlineMs({ deadlineMs: 1000, maxDeadlineMs: 5000 }, 0, 10, 20)).toBe(990);
    expect(remainingDeadlineMs({ deadlineMs: 1000, maxDeadlineMs: 500 }, 0, 100, 100)).toBe(900);
  });
});
