import { describe, expect, it } from "vitest";
import { CronError, describeCron, nextFireTimes, parseCron } from "./cron.ts";

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

  it("keeps one compiled pattern per expression and timezone (croner's cost ~80 KB each), bounded", () => {
    const a = parseCron({ cron: "0 8 * * *", timezone: "Europe/Berlin" });
    expect(parseCron({ cron: "0 8 * * *", timezone: "Europe/Berlin" })).toBe(a);
    expect(parseCron({ cron: "0 8 * * *", timezone: "UTC" })).not.toBe(a);
    // Far more distinct patterns than are kept: each still answers right, and `a` is compiled anew.
    for (let minute = 0; minute < 60; minute++) {
      for (const hour of [1, 2, 3]) {
        const next = nextFireTimes({ cron: `${minute} ${hour} * * *` }, 1, new Date("2030-01-01T00:00:00Z"));
        expect(next[0]?.toISOString()).toBe(`2030-01-01T0${hour}:${String(minute).padStart(2, "0")}:00.000Z`);
      }
    }
    const again = parseCron({ cron: "0 8 * * *", timezone: "Europe/Berlin" });
    expect(again).not.toBe(a);
    expect(again.nextRun(new Date("2030-01-01T00:00:00Z"))?.toISOString()).toBe("2030-01-01T07:00:00.000Z");
  });
});
