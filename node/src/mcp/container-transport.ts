import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { AttachedStdio } from "../runtime/docker-api.ts";
import type { ServerLog } from "./server-log.ts";

/** Keeps the last `limit` bytes of a stream's text: enough of a server's stderr to say why it died. */
export class RingBuffer {
  private chunks: string[] = [];
  private size = 0;
  private readonly limit: number;
  constructor(limit = 8192) {
    this.limit = limit;
  }

  push(text: string): void {
    this.chunks.push(text);
    this.size += text.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
    if (this.size > this.limit) {
      const only = this.chunks[0]!.slice(-this.limit);
      this.chunks = [only];
      this.size = only.length;
    }
  }

  text(): string {
    return this.chunks.join("");
  }

  /** The last few non-empty lines, joined for a one-line status message. */
  tail(lines = 5): string {
    return this.text()
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-lines)
      .join(" | ");
  }
}

/**
 * An MCP client transport over a container's attached stdio, framed as MCP's stdio transport:
 * one JSON-RPC message per line on stdin/stdout (the SDK's own ReadBuffer and serializer).
 * stderr is the server's log; it is kept in a ring buffer for error messages, never parsed.
 * Closing the transport drops the attach connection only; the container's lifetime is the manager's.
 */
export class ContainerStdioTransport implements Transport {
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: ((message: JSONRPCMessage) => void) | undefined;

  readonly stderr = new RingBuffer();
  private readonly stdio: AttachedStdio;
  private readonly readBuffer = new ReadBuffer();
  private closed = false;
  /** The server's log across its attempts (server-log.ts), which outlives this connection. */
  private readonly log: ServerLog | undefined;

  constructor(stdio: AttachedStdio, log?: ServerLog) {
    this.stdio = stdio;
    this.log = log;
  }

  async start(): Promise<void> {
    this.stdio.stdout.on("data", (chunk: Buffer) => {
      try {
        this.readBuffer.append(chunk);
      } catch (error) {
        // A line longer than the buffer limit: the stream cannot be resynchronised reliably.
        this.onerror?.(error as Error);
        void this.close();
        return;
      }
      this.drain();
    });
    this.stdio.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      this.stderr.push(text);
      this.log?.stderr(text);
    });
    this.stdio.stdout.on("error", (error: Error) => this.onerror?.(error));
    // The attach stream ends when the container stops (or the daemon drops us): the server is gone.
    this.stdio.stdout.on("close", () => this.finish());
    this.stdio.stdout.on("end", () => this.finish());
  }

  private drain(): void {
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.readBuffer.readMessage();
      } catch (error) {
        // A line that is not JSON-RPC (a server printing its banner to stdout): report, keep reading.
        this.onerror?.(error as Error);
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed) throw new Error("the MCP server's container is no longer attached");
    const line = serializeMessage(message);
    await new Promise<void>((resolve, reject) => {
      this.stdio.stdin.write(line, (error) => (error ? reject(error) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.stdio.close();
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.readBuffer.clear();
    this.log?.flush();
    this.onclose?.();
  }
}
