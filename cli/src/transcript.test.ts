import { describe, expect, it } from "vitest";
import type { SseEvent } from "./sse.ts";
import { makeStyle, shouldColour } from "./style.ts";
import { resultText, Transcript } from "./transcript.ts";

const ev = (event: string, data: unknown, id?: string): SseEvent => ({
  event,
  data: JSON.stringify(data),
  ...(id ? { id } : {}),
});
const textResult = (text: string) => ({ content: [{ type: "text", text }], isError: false, durationMs: 3 });

function render(events: SseEvent[], colour = false): { out: string; status: string | undefined } {
  let out = "";
  const t = new Transcript("r1", makeStyle(colour), (text) => (out += text));
  for (const e of events) t.handle(e);
  return { out, status: t.finalStatus };
}

describe("Transcript", () => {
  it("shows a tool call, its result, the streamed answer once, and the end", () => {
    const args = { command: "df -h /" };
    const { out, status } = render([
      ev("status", { status: "running", output: null, error: null }),
      ev("model", { provider: "LM Studio", model: "qwen", attempt: 1 }),
      ev("tool", { tool: "exec_command", node: "web-1", callId: "c1", arguments: args }),
      ev("step", { seq: 1, type: "llm", provider: "LM Studio", model: "qwen", text: "" }, "1"),
      ev(
        "step",
        {
          seq: 2,
          type: "tool",
          tool: "exec_command",
          node: "web-1",
          callId: "c1",
          arguments: args,
          result: textResult('{"exitCode":0,"stdout":"/dev/sda1 40G 12G\\n","stderr":""}'),
          isError: false,
          durationMs: 12,
        },
        "2",
      ),
      ev("delta", { text: "Disk / is " }),
      ev("delta", { text: "30% used." }),
      ev("step", { seq: 3, type: "llm", provider: "LM Studio", model: "qwen", text: "Disk / is 30% used." }, "3"),
      ev("status", { status: "succeeded", output: "Disk / is 30% used.", error: null }),
      ev("done", { status: "succeeded" }),
    ]);
    expect(status).toBe("succeeded");
    expect(out).toBe(
      [
        '→ web-1 · exec_command {"command":"df -h /"}',
        "  ✓ exec_command 12 ms exit 0: /dev/sda1 40G 12G",
        "Disk / is 30% used.",
        "✓ run r1 succeeded",
        "",
      ].join("\n"),
    );
  });

  it("replays stored steps (joining late): the call is shown from its step, the answer from the llm step", () => {
    const { out } = render([
      ev("step", {
        seq: 1,
        type: "tool",
        tool: "read_file",
        node: "db-1",
        arguments: { path: "/etc/x" },
        result: textResult("refused: outside the read roots"),
        isError: true,
        durationMs: 0,
      }),
      ev("step", { seq: 2, type: "llm", provider: "p", model: "m", text: "I could not read it." }),
      ev("status", { status: "failed", output: "I could not read it.", error: "budget exceeded" }),
      ev("done", { status: "failed" }),
    ]);
    expect(out).toBe(
      [
        '→ db-1 · read_file {"path":"/etc/x"}',
        "  ✗ read_file 0 ms refused: outside the read roots",
        "I could not read it.",
        "✗ run r1 failed: budget exceeded",
        "",
      ].join("\n"),
    );
  });

  it("says what waits for approval once, with the commands that decide it, and shows fallbacks", () => {
    const pending = { id: "a1", tool: "exec_command", node: "web-1", arguments: { command: "reboot" } };
    const waiting = ev("status", { status: "waiting_approval", output: null, error: null, pendingApproval: pending });
    const { out, status } = render([
      ev("model", { provider: "openai", model: "gpt-4o-mini", attempt: 2 }),
      waiting,
      waiting,
    ]);
    expect(status).toBeUndefined();
    expect(out).toBe(
      [
        "↻ falling back to openai / gpt-4o-mini",
        '⏸ waiting for approval: web-1 · exec_command {"command":"reboot"}',
        "  fabricore approve r1   or   fabricore deny r1 --reason …",
        "",
      ].join("\n"),
    );
  });

  it("prints the output when no text was streamed, and skips events it does not know", () => {
    const { out } = render([
      { event: "step", data: "not json" },
      ev("children", {}),
      ev("status", { status: "succeeded", output: "Three nodes answered.", error: null }),
      ev("done", { status: "succeeded" }),
    ]);
    expect(out).toBe("Three nodes answered.\n✓ run r1 succeeded\n");
  });

  it("lists a fan-out run's children before the end", () => {
    let out = "";
    const t = new Transcript("r1", makeStyle(false), (text) => (out += text));
    t.children([
      { id: "c1", nodeName: "web-1", status: "succeeded", error: null },
      { id: "c2", nodeName: "web-2", status: "skipped", error: "Node web-2 is offline" },
      { id: "c3", nodeName: null, status: "failed", error: "boom" },
    ]);
    t.handle(ev("done", { status: "failed" }));
    expect(out).toBe(
      [
        "  ✓ web-1 succeeded (run c1)",
        "  – web-2 skipped: Node web-2 is offline (run c2)",
        "  ✗ c3 failed: boom (run c3)",
        "✗ run r1 failed",
        "",
      ].join("\n"),
    );
  });

  it("prints each child once: when it ended (live `children` events), the rest before the end", () => {
    let out = "";
    const t = new Transcript("r1", makeStyle(false), (text) => (out += text));
    t.children(
      [
        { id: "c1", nodeName: "web-1", status: "succeeded", error: null },
        { id: "c2", nodeName: "web-2", status: "running", error: null },
      ],
      true,
    );
    t.children(
      [
        { id: "c1", nodeName: "web-1", status: "succeeded", error: null },
        { id: "c2", nodeName: "web-2", status: "failed", error: "disk full" },
      ],
      true,
    );
    t.children([
      { id: "c1", nodeName: "web-1", status: "succeeded", error: null },
      { id: "c2", nodeName: "web-2", status: "failed", error: "disk full" },
      { id: "c3", nodeName: "db1", status: "cancelled", error: null },
    ]);
    expect(out).toBe(
      ["  ✓ web-1 succeeded (run c1)", "  ✗ web-2 failed: disk full (run c2)", "  ✗ db1 cancelled (run c3)", ""].join(
        "\n",
      ),
    );
  });

  it("colours with ANSI codes only when asked", () => {
    expect(render([ev("done", { status: "succeeded" })], true).out).toBe("\u001b[32m✓ run r1 succeeded\u001b[39m\n");
    expect(shouldColour(undefined, true, {})).toBe(true);
    expect(shouldColour(undefined, false, {})).toBe(false);
    expect(shouldColour(undefined, true, { NO_COLOR: "1" })).toBe(false);
    expect(shouldColour(true, false, { NO_COLOR: "1" })).toBe(true);
    expect(shouldColour(undefined, true, { TERM: "dumb" })).toBe(false);
  });

  it("reads tool results of the protocol's shape, and anything else as JSON", () => {
    expect(resultText(textResult("plain"))).toBe("plain");
    expect(resultText({ weird: true })).toBe('{"weird":true}');
    expect(resultText(textResult('{"exitCode":2,"stdout":"","stderr":"no such file"}'))).toBe(
      "exit 2:  stderr: no such file",
    );
  });
});
