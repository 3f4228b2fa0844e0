import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "./sse.ts";

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function all(chunks: string[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const event of readSse(streamOf(chunks))) out.push(event);
  return out;
}

describe("readSse", () => {
  it("reads events split anywhere across chunks, skipping comments", async () => {
    const text = 'id: 3\nevent: step\ndata: {"seq":3}\n\n: keep-alive\n\nevent: done\ndata: {"status":"succeeded"}\n\n';
    const expected = [
      { event: "step", data: '{"seq":3}', id: "3" },
      { event: "done", data: '{"status":"succeeded"}' },
    ];
    expect(await all([text])).toEqual(expected);
    // Every split point, including inside a multi-byte character.
    const withUnicode = 'event: delta\ndata: {"text":"→ ✓"}\n\n';
    for (let i = 1; i < withUnicode.length; i++) {
      const bytes = new TextEncoder().encode(withUnicode);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(bytes.slice(0, i));
          c.enqueue(bytes.slice(i));
          c.close();
        },
      });
      const events: SseEvent[] = [];
      for await (const e of readSse(stream)) events.push(e);
      expect(events).toEqual([{ event: "delta", data: '{"text":"→ ✓"}' }]);
    }
    for (let i = 1; i < text.length; i++) expect(await all([text.slice(0, i), text.slice(i)])).toEqual(expected);
  });

  it("takes CRLF and CR line ends, joins data lines, and defaults the event name", async () => {
    expect(await all(["data: a\r\ndata: b\r\n\r\nevent: x\rdata: c\r\r"])).toEqual([
      { event: "message", data: "a\nb" },
      { event: "x", data: "c" },
    ]);
    expect(await all(["data: a\r", "\ndata: b\r\n\r\n"])).toEqual([{ event: "message", data: "a\nb" }]);
  });

  it("drops an event cut off before its blank line", async () => {
    expect(await all(["event: step\ndata: {}\n"])).toEqual([]);
  });
});
