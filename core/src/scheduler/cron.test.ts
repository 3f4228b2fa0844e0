import { describe, expect, it } from "vitest";
import { CronError, describeCron, nextFireTimes } from "./cron.ts";

describe("cron", () => {
  it("computes 5-field fire times in a timezone", () => {
    const from = new Date("2026-03-01T00:00:00Z");
    const next = nextFireTimes({ cron: "0 8 * * *", timezone: "Europe/Berlin" }, 2, from);
    expect(next.map((d) => d.toISOString())).toEqual(["2026-03-01T07:00:00.000Z", "2026-03-02T07:00:00.000Z"]);
  });

  it("computes 6-field (seconds) fire times", () => {
    const from = new Date("2026-01-01T00:00:00Z");
    const next = nextFireTimes({ cron: "*/2 * * * * *" }, 3, from);
    expect(next.map((d) => d.toISOString())).toEqual([
      "2026-01-01T00:00:02.000Z",
      "2026-01-01T00:00:04.000Z",
      "2026-01-01T00:00:06.000Z",
    ]);
  });

  it("follows daylight saving time", () => {
    const from = new Date("2026-03-28T12:00:00Z");
    const next = nextFireTimes({ cron: "0 8 * * *", timezone: "Europe/Berlin" }, 2, from);
    // Berlin moves from UTC+1 to UTC+2 on 29 March 2026.
    expect(next.map((d) => d.toISOString())).toEqual(["2026-03-29T06:00:00.000Z", "2026-03-30T06:00:00.000Z"]);
  });

  it("refuses bad expressions and timezones with a clear error", () => {
    expect(() => nextFireTimes({ cron: "* * *" }, 1)).toThrow(CronError);
    expect(() => nextFireTimes({ cron: "61 * * * *" }, 1)).toThrow(/invalid cron/);
    expect(() => nextFireTimes({ cron: "0 8 * * *", timezone: "Mars/Olympus" }, 1)).toThrow(/unknown timezone/);
  });

  it("describes an expression in plain language", () => {
    expect(describeCron({ cron: "0 8 * * *", timezone: "UTC" })).toBe("At 08:00 (UTC)");
  });
});
