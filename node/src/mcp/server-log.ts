import { MCP_LOG_BYTES_MAX, MCP_LOG_LINE_MAX, MCP_LOG_LINES_MAX, type McpLogLine } from "@fabricore/protocol";

/** Cuts a line to MCP_LOG_LINE_MAX, saying so. */
export function clipLine(text: string): string {
  return text.length > MCP_LOG_LINE_MAX ? `${text.slice(0, MCP_LOG_LINE_MAX - 20)} … (line cut)` : text;
}

/**
 * The last lines one MCP server wrote on stderr, across its attempts, and the Node's own lines about
 * it (each start, each failure and why). Kept by the Node because a container that failed to start
 * is removed at once, and a pass-through server has no output the Node can see: without this, the
 * reason a server fails would be one status line. Bounded by lines and by characters.
 */
export class ServerLog {
  private lines: McpLogLine[] = [];
  private chars = 0;
  /** A line written in pieces (stderr arrives in chunks, not lines). */
  private partial = "";
  private dropped = false;
  private readonly maxLines: number;
  private readonly maxChars: number;
  private readonly now: () => Date;

  constructor(options: { maxLines?: number; maxChars?: number; now?: () => Date } = {}) {
    this.maxLines = options.maxLines ?? MCP_LOG_LINES_MAX;
    this.maxChars = options.maxChars ?? MCP_LOG_BYTES_MAX;
    this.now = options.now ?? (() => new Date());
  }

  /** A chunk of the server's stderr. */
  stderr(chunk: string): void {
    const text = this.partial + chunk;
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    // A server that never ends its line still gets it kept, in pieces of the longest line.
    while (this.partial.length > MCP_LOG_LINE_MAX) {
      parts.push(this.partial.slice(0, MCP_LOG_LINE_MAX));
      this.partial = this.partial.slice(MCP_LOG_LINE_MAX);
    }
    for (const part of parts) this.add("stderr", part.replace(/\r$/, ""));
  }

  /** The stream ended (the container stopped): a last unfinished line is a line. */
  flush(): void {
    if (this.partial) this.add("stderr", this.partial);
    this.partial = "";
  }

  /** A line of the Node's own about this server. */
  note(text: string): void {
    this.flush();
    this.add("node", text);
  }

  private add(stream: McpLogLine["stream"], text: string): void {
    const line = { at: this.now().toISOString(), stream, text: clipLine(text) };
    this.lines.push(line);
    this.chars += line.text.length;
    while (this.lines.length > this.maxLines || (this.chars > this.maxChars && this.lines.length > 1)) {
      this.chars -= this.lines.shift()?.text.length ?? 0;
      this.dropped = true;
    }
  }

  /** The last `count` lines (the unfinished one included); `truncated` when older ones exist or were dropped. */
  tail(count: number): { lines: McpLogLine[]; truncated: boolean } {
    const all = this.partial
      ? [...this.lines, { at: this.now().toISOString(), stream: "stderr" as const, text: clipLine(this.partial) }]
      : this.lines;
    const lines = all.slice(-Math.max(0, count));
    return { lines, truncated: this.dropped || lines.length < all.length };
  }
}

/**
 * Docker's log of a container (`timestamps=1`: each line begins with an RFC 3339 time and a space)
 * as log lines, the last `count` of them within MCP_LOG_BYTES_MAX characters.
 */
export function parseDockerLog(
  text: string,
  stream: "stdout" | "stderr",
  count: number,
): { lines: McpLogLine[]; truncated: boolean } {
  const raw = text.split("\n");
  if (raw.at(-1) === "") raw.pop();
  let truncated = raw.length > count;
  const lines: McpLogLine[] = [];
  let chars = 0;
  for (const entry of raw.slice(-count).reverse()) {
    const match = /^(\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)) (.*)$/s.exec(entry.replace(/\r$/, ""));
    const line: McpLogLine = match
      ? { at: match[1] as string, stream, text: clipLine(match[2] ?? "") }
      : { stream, text: clipLine(entry) };
    if (chars + line.text.length > MCP_LOG_BYTES_MAX && lines.length > 0) {
      truncated = true;
      break;
    }
    chars += line.text.length;
    lines.push(line);
  }
  return { lines: lines.reverse(), truncated };
}
