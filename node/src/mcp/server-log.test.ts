import { MCP_LOG_LINE_MAX } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { parseDockerLog, ServerLog } from "./server-log.ts";

describe("ServerLog", () => {
  it("joins stderr chunks into lines and keeps the Node's own lines between them", () => {
    const log = new ServerLog({ now: () => new Date("2026-12-07T09:00:00Z") });
    log.note("starting");
    log.stderr("Error accessing dir");
    log.stderr("ectory /data/sub: ENOENT\nsecond ");
    log.note("failed: it exited");
    expect(log.tail(10)).toEqual({
      lines: [
        { at: "2026-12-07T09:00:00.000Z", stream: "node", text: "starting" },
        { at: "2026-12-07T09:00:00.000Z", stream: "stderr", text: "Error accessing directory /data/sub: ENOENT" },
        // A note ends an unfinished line: the server's attempt is over.
        { at: "2026-12-07T09:00:00.000Z", stream: "stderr", text: "second " },
        { at: "2026-12-07T09:00:00.000Z", stream: "node", text: "failed: it exited" },
      ],
      truncated: false,
    });
  });

  it("answers the last N lines, the unfinished one included, and says when older ones exist", () => {
    const log = new ServerLog();
    log.stderr("a\nb\nc\nstill writing");
    const { lines, truncated } = log.tail(2);
    expect(lines.map((l) => l.text)).toEqual(["c", "still writing"]);
    expect(truncated).toBe(true);
  });

  it("is bounded by lines and characters, dropping the oldest first", () => {
    const byLines = new ServerLog({ maxLines: 3 });
    for (let i = 0; i < 10; i++) byLines.stderr(`line ${i}\n`);
    expect(byLines.tail(100)).toMatchObject({
      truncated: true,
      lines: [{ text: "line 7" }, { text: "line 8" }, { text: "line 9" }],
    });

    const byChars = new ServerLog({ maxChars: 100 });
    for (let i = 0; i < 10; i++) byChars.stderr(`${String(i).repeat(30)}\n`);
    const kept = byChars.tail(100).lines;
    expect(kept.map((l) => l.text[0])).toEqual(["7", "8", "9"]);
  });

  it("cuts an endless line into pieces no longer than a log line", () => {
    const log = new ServerLog();
    log.stderr("x".repeat(MCP_LOG_LINE_MAX * 2 + 5));
    const { lines } = log.tail(10);
    expect(lines.map((l) => l.text.length)).toEqual([MCP_LOG_LINE_MAX, MCP_LOG_LINE_MAX, 5]);
  });
});

describe("parseDockerLog", () => {
  it("splits Docker's timestamps off and keeps the last N lines", () => {
    const text =
      "2026-12-07T09:00:00.123456789Z first\n2026-12-07T09:00:01.5Z second line\n2026-12-07T09:00:02Z third\n";
    expect(parseDockerLog(text, "stderr", 2)).toEqual({
      lines: [
        { at: "2026-12-07T09:00:01.5Z", stream: "stderr", text: "second line" },
        { at: "2026-12-07T09:00:02Z", stream: "stderr", text: "third" },
      ],
      truncated: true,
    });
    expect(parseDockerLog("no timestamp here\n", "stderr", 5)).toEqual({
      lines: [{ stream: "stderr", text: "no timestamp here" }],
      truncated: false,
    });
  });
});
