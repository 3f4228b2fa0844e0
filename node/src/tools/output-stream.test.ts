import { describe, expect, it } from "vitest";
import { execCommandTool } from "./exec-command.ts";
import { LIVE_OUTPUT_MAX_CHARS, OutputStreamer } from "./output-stream.ts";

/** Issue 22.2: exec_command's output while it runs — batched, UTF-8 safe, bounded. */

describe("OutputStreamer", () => {
  it("batches pieces, keeps a character split across chunks whole, and sends the rest on close", async () => {
    const sent: Array<[string, string]> = [];
    const streamer = new OutputStreamer((stream, text) => sent.push([stream, text]));
    const euro = Buffer.from("€"); // three bytes
    streamer.push("stdout", Buffer.concat([Buffer.from("cost: "), euro.subarray(0, 1)]));
    streamer.push("stdout", euro.subarray(1));
    streamer.push("stderr", Buffer.from("warn\n"));
    expect(sent).toEqual([]); // batched, not one message per chunk
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toEqual([
      ["stdout", "cost: €"],
      ["stderr", "warn\n"],
    ]);
    streamer.push("stdout", Buffer.from("tail"));
    streamer.close();
    expect(sent.at(-1)).toEqual(["stdout", "tail"]);
    streamer.push("stdout", Buffer.from("after close"));
    await new Promise((r) => setTimeout(r, 300));
    expect(sent.at(-1)).toEqual(["stdout", "tail"]);
  });

  it("stops after LIVE_OUTPUT_MAX_CHARS with one note; nothing after", () => {
    const sent: Array<[string, string]> = [];
    const streamer = new OutputStreamer((stream, text) => sent.push([stream, text]));
    for (let i = 0; i < 10; i++) streamer.push("stdout", Buffer.alloc(20_000, "x"));
    streamer.close();
    const out = sent.filter(([s]) => s === "stdout").reduce((n, [, t]) => n + t.length, 0);
    expect(out).toBe(LIVE_OUTPUT_MAX_CHARS);
    expect(sent.every(([, t]) => t.length <= 16_384)).toBe(true);
    expect(sent.at(-1)?.[1]).toContain("live output stopped");
  });
});

describe("exec_command with onOutput", () => {
  it("sends each line as it comes, before the result; the result has the whole output", async () => {
    const seen: Array<{ at: number; stream: string; text: string }> = [];
    const started = Date.now();
    const result = await execCommandTool(
      { command: "echo first; sleep 1; echo second; echo oops >&2" },
      {
        allowExec: true,
        shell: true,
        onOutput: (stream, text) => seen.push({ at: Date.now() - started, stream, text }),
      },
    );
    const done = Date.now() - started;
    expect(result.structuredContent).toMatchObject({ exitCode: 0, stdout: "first\nsecond\n", stderr: "oops\n" });
    expect(seen[0]).toMatchObject({ stream: "stdout", text: "first\n" });
    expect(seen[0]!.at).toBeLessThan(900); // while the command still sleeps
    expect(
      seen
        .filter((s) => s.stream === "stdout")
        .map((s) => s.text)
        .join(""),
    ).toBe("first\nsecond\n");
    expect(
      seen
        .filter((s) => s.stream === "stderr")
        .map((s) => s.text)
        .join(""),
    ).toBe("oops\n");
    expect(Math.max(...seen.map((s) => s.at))).toBeLessThanOrEqual(done);
  });
});
