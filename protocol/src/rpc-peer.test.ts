import { describe, expect, it } from "vitest";
import { ProtocolError } from "./errors.ts";
import { coreToNode, nodeToCore } from "./messages.ts";
import { RpcHandlers, RpcPeer } from "./rpc-peer.ts";
import { InMemoryTransport } from "./transport.ts";

function pair() {
  const [a, b] = InMemoryTransport.createLinkedPair();
  const core = new RpcPeer(a, { incoming: nodeToCore, outgoing: coreToNode });
  const node = new RpcPeer(b, { incoming: coreToNode, outgoing: nodeToCore, disconnectCode: "internal" });
  return { core, node, a, b };
}

describe("RpcPeer", () => {
  it("routes a typed request and validates its result", async () => {
    const { core, node } = pair();
    node.setRequestHandler("tools/call", async (params) => ({
      content: [{ type: "text", text: `hi ${String(params.arguments.who)}` }],
      isError: false,
      durationMs: 1,
    }));
    const result = await core.request("tools/call", {
      name: "x",
      arguments: { who: "a" },
      deadlineMs: 1000,
      callId: "c1",
    });
    expect(result.content[0]).toEqual({ type: "text", text: "hi a" });
  });

  it("answers invalid params with an error instead of calling the handler", async () => {
    const { core, node } = pair();
    let called = false;
    node.setRequestHandler("tools/call", async () => {
      called = true;
      return { content: [], isError: false, durationMs: 0 };
    });
    const error = await core
      .request("tools/call", { name: "", deadlineMs: -1, callId: "" } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe("invalid_params");
    expect(called).toBe(false);
  });

  it("answers an unknown method with unknown_method", async () => {
    const { core } = pair();
    const error = await core.request("fabricore/ping", {}).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("unknown_method");
  });

  it("times out, and the callee sees the cancellation", async () => {
    const { core, node } = pair();
    let aborted = false;
    node.setRequestHandler("tools/call", (_params, ctx) => {
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener("abort", () => {
          aborted = true;
          reject(new ProtocolError("cancelled", "stopped"));
        });
      });
    });
    const error = await core
      .request("tools/call", { name: "slow", deadlineMs: 50, callId: "c" }, { timeoutMs: 30 })
      .catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("deadline_exceeded");
    await new Promise((r) => setTimeout(r, 10));
    expect(aborted).toBe(true);
  });

  it("re-arms the timeout on request (progress pushing a deadline back), and still times out", async () => {
    const { core, node } = pair();
    node.setRequestHandler(
      "tools/call",
      () => new Promise((resolve) => setTimeout(() => resolve({ content: [], isError: false, durationMs: 1 }), 120)),
    );
    let rearm: ((ms: number) => void) | undefined;
    const pending = core.request(
      "tools/call",
      { name: "slow", deadlineMs: 50, callId: "c" },
      { timeoutMs: 60, onTimeoutControl: (fn) => (rearm = fn) },
    );
    const keepAlive = setInterval(() => rearm?.(60), 30);
    const result = await pending.finally(() => clearInterval(keepAlive));
    expect(result.content).toEqual([]);
    // No more re-arming: the re-armed timer fires, with a message that says why.
    node.setRequestHandler("tools/call", () => new Promise(() => {}));
    const stalled = core
      .request(
        "tools/call",
        { name: "hang", deadlineMs: 50, callId: "d" },
        { timeoutMs: 40, onTimeoutControl: (fn) => fn(40) },
      )
      .catch((e: unknown) => e);
    const error = (await stalled) as ProtocolError;
    expect(error.code).toBe("deadline_exceeded");
    expect(error.message).toMatch(/deadline its progress extended/);
  });

  it("fails pending requests when the connection closes", async () => {
    const { core, node, b } = pair();
    node.setRequestHandler("tools/call", () => new Promise(() => {}));
    const pending = core.request("tools/call", { name: "hang", deadlineMs: 10_000, callId: "c" });
    await new Promise((r) => setTimeout(r, 5));
    await b.close(1006, "gone");
    const error = await pending.catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe("node_offline");
    expect(core.pendingCount).toBe(0);
  });

  it("answers a frame the transport could not decode", async () => {
    const { a, node } = pair();
    const seen: unknown[] = [];
    a.onmessage = (m) => seen.push(m);
    node.transport.oninvalid?.("not json", null);
    await new Promise((r) => setTimeout(r, 5));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ id: null, error: { data: { code: "invalid_message" } } });
  });

  it("shares one handler table between peers, each handler seeing its own peer's context", async () => {
    const handlers = new RpcHandlers<typeof coreToNode, { who: string }>().onRequest(
      "tools/call",
      async (params, ctx) => ({
        content: [{ type: "text", text: `${ctx.context.who} ran ${params.name}` }],
        isError: false,
        durationMs: 0,
      }),
    );
    const options = { incoming: coreToNode, outgoing: nodeToCore, handlers };
    const callers = ["a", "b"].map((who) => {
      const [near, far] = InMemoryTransport.createLinkedPair();
      const callee = new RpcPeer(far, options, { who });
      return { callee, caller: new RpcPeer(near, { incoming: nodeToCore, outgoing: coreToNode }) };
    });
    // A handler set on one peer wins over the shared one, for that peer only.
    callers[1]!.callee.setRequestHandler("tools/call", async () => ({
      content: [{ type: "text", text: "own" }],
      isError: false,
      durationMs: 0,
    }));
    const results = await Promise.all(
      callers.map(({ caller }) => caller.request("tools/call", { name: "t", deadlineMs: 1000, callId: "c" })),
    );
    expect(results.map((r) => r.content[0])).toEqual([
      { type: "text", text: "a ran t" },
      { type: "text", text: "own" },
    ]);
  });

  it("gives shared notification handlers and onProblem the peer's context", async () => {
    const beats: string[] = [];
    const problems: string[] = [];
    const options = {
      incoming: nodeToCore,
      outgoing: coreToNode,
      handlers: new RpcHandlers<typeof nodeToCore, { who: string }>().onNotification(
        "fabricore/heartbeat",
        (_params, context) => beats.push(context.who),
      ),
      onProblem: (problem: string, context: { who: string }) => problems.push(`${context.who}: ${problem}`),
    };
    const senders = ["a", "b"].map((who) => {
      const [near, far] = InMemoryTransport.createLinkedPair();
      new RpcPeer(far, options, { who });
      return near;
    });
    await senders[0]!.send({ jsonrpc: "2.0", method: "fabricore/heartbeat", params: { at: 1 } });
    await senders[1]!.send({ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: { tools: [] } });
    await new Promise((r) => setTimeout(r, 5));
    expect(beats).toEqual(["a"]);
    expect(problems).toEqual(["b: unhandled notification notifications/tools/list_changed"]);
  });
});
