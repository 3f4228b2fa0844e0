import { FUNCTION_CLOSE, FUNCTION_OPEN, TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from "./text-tool-calls.ts";
import { THINK_CLOSE, THINK_OPEN } from "./think-tags.ts";
import { TOOL_REQUEST_CLOSE, TOOL_REQUEST_OPEN } from "./tool-request.ts";

interface Block {
  open: string;
  close: string;
  /** `reasoning`: the inside is streamed as reasoning; `drop`: the inside is not shown live. */
  route: "reasoning" | "drop";
}

const THINK: Block = { open: THINK_OPEN, close: THINK_CLOSE, route: "reasoning" };
const TOOL_BLOCKS: Block[] = [
  { open: TOOL_REQUEST_OPEN, close: TOOL_REQUEST_CLOSE, route: "drop" },
  { open: TOOL_CALL_OPEN, close: TOOL_CALL_CLOSE, route: "drop" },
  { open: FUNCTION_OPEN, close: FUNCTION_CLOSE, route: "drop" },
];

/**
 * Splits streamed content live, so a run's live view shows what the model said: `<think>` blocks go
 * to the reasoning stream, and (when tools were offered) tool-call markup is not shown at all. A
 * tail that could be the start of a marker is held back until the next delta decides. The final
 * answer is parsed again from the whole content (think-tags.ts, text-tool-calls.ts); this only
 * shapes what is streamed.
 */
export class MarkupStreamFilter {
  private buffer = "";
  private inside: Block | undefined;
  private readonly blocks: Block[];
  private readonly emitText: (text: string) => void;
  private readonly emitReasoning: (text: string) => void;

  constructor(options: {
    hideToolMarkup: boolean;
    onText: (text: string) => void;
    onReasoning: (text: string) => void;
  }) {
    this.blocks = options.hideToolMarkup ? [THINK, ...TOOL_BLOCKS] : [THINK];
    this.emitText = options.onText;
    this.emitReasoning = options.onReasoning;
  }

  push(delta: string): void {
    this.buffer += delta;
    for (;;) {
      const inside = this.inside;
      if (inside) {
        const close = this.buffer.indexOf(inside.close);
        if (close < 0) {
          const keep = partialSuffix(this.buffer, [inside.close]);
          const ready = this.buffer.slice(0, this.buffer.length - keep);
          if (ready && inside.route === "reasoning") this.emitReasoning(ready);
          this.buffer = this.buffer.slice(this.buffer.length - keep);
          return;
        }
        if (close > 0 && inside.route === "reasoning") this.emitReasoning(this.buffer.slice(0, close));
        this.buffer = this.buffer.slice(close + inside.close.length);
        this.inside = undefined;
        continue;
      }
      let first: { at: number; block: Block } | undefined;
      for (const block of this.blocks) {
        const at = this.buffer.indexOf(block.open);
        if (at >= 0 && (!first || at < first.at)) first = { at, block };
      }
      if (first) {
        if (first.at > 0) this.emitText(this.buffer.slice(0, first.at));
        this.buffer = this.buffer.slice(first.at + first.block.open.length);
        this.inside = first.block;
        continue;
      }
      const keep = partialSuffix(
        this.buffer,
        this.blocks.map((b) => b.open),
      );
      const ready = this.buffer.slice(0, this.buffer.length - keep);
      if (ready) this.emitText(ready);
      this.buffer = this.buffer.slice(this.buffer.length - keep);
      return;
    }
  }

  end(): void {
    if (this.buffer) {
      if (!this.inside) this.emitText(this.buffer);
      else if (this.inside.route === "reasoning") this.emitReasoning(this.buffer);
    }
    this.buffer = "";
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `markers`. */
function partialSuffix(text: string, markers: readonly string[]): number {
  let best = 0;
  for (const marker of markers) {
    for (let n = Math.min(marker.length - 1, text.length); n > best; n--) {
      if (text.endsWith(marker.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}
