import { PassThrough } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import type { AttachedStdio } from "../runtime/docker-api.ts";
import { ContainerStdioTransport, RingBuffer } from "./container-transport.ts";

function fakeStdio() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let closed = false;
  const stdio: AttachedStdio = {
    stdin,
    stdout,
    stderr,
    close: () => {
      closed = true;
      stdout.end();
    },
  };
  return { stdio, stdin, stdout, stderr, isClosed: () => closed };
}

describe("ContainerStdioTransport", () => {
  it("writes one JSON-RPC message per line and reads lines split across chunks", async () => {
    const { stdio, stdin, stdout } = fakeStdio();
    const transport = new ContainerStdioTransport(stdio);
    const received: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    transport.onmessage = (m) => received.push(m);
    transport.onerror = (e) => errors.push(e);
    await transport.start();
    await transport.send({ jsonrpc: "2.0", id: 1, method: "ping" });
    expect(stdin.read()?.toString()).toBe('{"jsonrpc":"2.0","id":1,"method":"ping"}\n');
    stdout.write('{"jsonrpc":"2.0","id":1,"res');
    stdout.write('ult":{}}\nnot json\n{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}\n');
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual([
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", method: "notifications/tools/list_changed" },
    ]);
    // A stray line is reported, not fatal.
    expect(errors).toHaveLength(1);
  });

  it("keeps stderr for error messages and reports the end of the stream as close", async () => {
    const { stdio, stdout, stderr } = fakeStdio();
    const transport = new ContainerStdioTransport(stdio);
    let closes = 0;
    transport.onclose = () => closes++;
    await transport.start();
    stderr.write("booting\nError: cannot open /data\n");
    await new Promise((r) => setImmediate(r));
    expect(transport.stderr.tail()).toBe("booting | Error: cannot open /data");
    stdout.end();
    await new Promise((r) => setImmediate(r));
    expect(closes).toBe(1);
    await expect(transport.send({ jsonrpc: "2.0", id: 2, method: "ping" })).rejects.toThrow(/no longer attached/);
    await transport.close();
    expect(closes).toBe(1);
  });
});

describe("RingBuffer", () => {
  it("keeps only the last bytes", () => {
    const ring = new RingBuffer(10);
    ring.push("0123456789");
    ring.push("abc");
    expect(ring.text()).toBe("abc");
    ring.push("x".repeat(25));
    expect(ring.text()).toBe("x".repeat(10));
  });
});
