import { TOOL_OUTPUT_CHUNK_MAX } from "@fabricore/protocol";

export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

/** Live output sent for one call at most (the result still carries the whole capped output). */
export const LIVE_OUTPUT_MAX_CHARS = 64 * 1024;
const FLUSH_EVERY_MS = 250;

/**
 * A command's output as it comes, for the Core to show live (issue 22.2): decoded per stream (a
 * UTF-8 character split across chunks is held back, not mangled), batched every 250 ms or 16 KiB so
 * a chatty command is a few messages a second, and bounded — past 64 KiB one note says live output
 * stopped and the rest is in the result.
 */
export class OutputStreamer {
  private readonly sink: OutputSink;
  private readonly decoders = { stdout: new TextDecoder("utf-8"), stderr: new TextDecoder("utf-8") };
  private readonly pending = { stdout: "", stderr: "" };
  private sent = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(sink: OutputSink) {
    this.sink = sink;
  }

  push(stream: "stdout" | "stderr", chunk: Buffer): void {
    if (this.stopped) return;
    this.pending[stream] += this.decoders[stream].decode(chunk, { stream: true });
    if (this.pending[stream].length >= TOOL_OUTPUT_CHUNK_MAX) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), FLUSH_EVERY_MS);
  }

  /** Sends what is pending and stops: the call has ended. */
  close(): void {
    if (this.stopped) return;
    for (const stream of ["stdout", "stderr"] as const) this.pending[stream] += this.decoders[stream].decode();
    this.flush();
    this.stopped = true;
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ["stdout", "stderr"] as const) {
      let text = this.pending[stream];
      this.pending[stream] = "";
      while (text && !this.stopped) {
        const room = LIVE_OUTPUT_MAX_CHARS - this.sent;
        if (room <= 0) {
          this.stopped = true;
          this.sink(
            "stderr",
            `\n[live output stopped after ${LIVE_OUTPUT_MAX_CHARS} characters; the result has the rest]\n`,
          );
          break;
        }
        const piece = text.slice(0, Math.min(room, TOOL_OUTPUT_CHUNK_MAX));
        text = text.slice(piece.length);
        this.sent += piece.length;
        this.sink(stream, piece);
      }
    }
  }
}
