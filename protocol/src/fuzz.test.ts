import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJsonRpcMessage, safeParseJson } from "./jsonrpc.ts";
import { coreToNode, nodeToCore } from "./messages.ts";
import { RpcPeer } from "./rpc-peer.ts";
import { ExecCommandArgs, ReadFileArgs, SystemStatsArgs } from "./tools.ts";
import { InMemoryTransport } from "./transport.ts";

/**
 * SECURITY.md "Hostile input": property tests throwing random and hostile values at the frame
 * decoder, the RPC peer and the tool argument schemas. None may throw; whatever they accept must
 * satisfy the schema's promises.
 */

/** Values shaped like JSON-RPC frames, with hostile fields (huge ids, prototype keys, wrong types). */
const hostileFrame = fc.oneof(
  fc.anything({ withObjectString: true, withNullPrototype: true }),
  fc.record(
    {
      jsonrpc: fc.oneof(fc.constant("2.0"), fc.string(), fc.integer()),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 300 }), fc.constant(null), fc.double(), fc.object()),
      method: fc.oneof(
        fc.constantFrom("tools/call", "fabricore/hello", "notifications/cancelled", "__proto__", "constructor"),
        fc.string({ maxLength: 200 }),
      ),
      params: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.anything())),
      result: fc.anything(),
      error: fc.oneof(fc.anything(), fc.record({ code: fc.integer(), message: fc.string() })),
      __proto__: fc.object(),
    },
    { requiredKeys: [] },
  ),
);

/** Frames that pass the envelope check, so the peer's own validation of ids, methods and params
 * is what gets exercised (requests, notifications and responses to ids it never sent). */
const envelope = fc.oneof(
  fc.record({
    jsonrpc: fc.constant("2.0" as const),
    id: fc.oneof(fc.integer(), fc.string({ maxLength: 128 })),
    method: fc.constantFrom("tools/call", "fabricore/hello", "fabricore/syncMcp", "ping", "x"),
    params: fc.dictionary(fc.string(), fc.anything()),
  }),
  fc.record({
    jsonrpc: fc.constant("2.0" as const),
    method: fc.constantFrom("notifications/cancelled", "fabricore/toolsChanged", "fabricore/heartbeat", "y"),
    params: fc.dictionary(fc.string(), fc.anything()),
  }),
  fc.record({ jsonrpc: fc.constant("2.0" as const), id: fc.integer({ min: 0, max: 5 }), result: fc.anything() }),
  fc.record({
    jsonrpc: fc.constant("2.0" as const),
    id: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(null)),
    error: fc.record(
      { code: fc.integer(), message: fc.string(), data: fc.anything() },
      { requiredKeys: ["code", "message"] },
    ),
  }),
);

describe("protocol decoder and peer under hostile input (SECURITY.md: Hostile input)", () => {
  it("safeParseJson never throws, whatever the text", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.json(), fc.string({ unit: "binary" })),
        (text) => {
          const result = safeParseJson(text);
          expect(typeof result.ok).toBe("boolean");
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("parseJsonRpcMessage never throws; what it accepts is a JSON-RPC 2.0 message", () => {
    fc.assert(
      fc.property(hostileFrame, (value) => {
        const result = parseJsonRpcMessage(value);
        if (result.ok) {
          expect(result.message.jsonrpc).toBe("2.0");
          expect("method" in result.message || "id" in result.message).toBe(true);
        } else {
          expect(typeof result.error).toBe("string");
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("an RpcPeer fed random decoded frames never throws and still answers a valid call afterwards", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(hostileFrame, envelope), { maxLength: 20 }), async (frames) => {
        const [core, node] = InMemoryTransport.createLinkedPair();
        const corePeer = new RpcPeer(core, { incoming: nodeToCore, outgoing: coreToNode });
        const nodePeer = new RpcPeer(node, { incoming: coreToNode, outgoing: nodeToCore, disconnectCode: "internal" });
        nodePeer.setRequestHandler("tools/call", async (params) => ({
          content: [{ type: "text", text: String(params.name) }],
          isError: false,
          durationMs: 0,
        }));
        for (const frame of frames) {
          // Every transport decodes with parseJsonRpcMessage before the peer sees a frame (an
          // invalid one is answered by the transport); what passes still carries hostile ids,
          // methods and params, which the peer must validate against its catalog.
          const decoded = parseJsonRpcMessage(frame);
          if (decoded.ok) await core.send(decoded.message).catch(() => {});
        }
        const result = await corePeer.request("tools/call", {
          name: "still-alive",
          arguments: {},
          deadlineMs: 1000,
          callId: "c-after-fuzz",
        });
        expect(result.content[0]).toEqual({ type: "text", text: "still-alive" });
        await corePeer.close(1000, "done");
      }),
      { numRuns: 200 },
    );
  });

  it("the built-in tool argument schemas never throw, and accept only what they promise", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record(
            {
              path: fc.oneof(fc.string({ maxLength: 5000 }), fc.anything()),
              maxBytes: fc.oneof(fc.integer(), fc.double(), fc.anything()),
              command: fc.oneof(fc.string(), fc.anything()),
              timeoutMs: fc.oneof(fc.integer(), fc.double(), fc.anything()),
              cwd: fc.oneof(fc.string(), fc.anything()),
            },
            { requiredKeys: [] },
          ),
        ),
        (value) => {
          const read = ReadFileArgs.safeParse(value);
          if (read.success) {
            expect(read.data.path.length).toBeGreaterThan(0);
            expect(read.data.path.length).toBeLessThanOrEqual(4096);
            if (read.data.maxBytes !== undefined) {
              expect(Number.isInteger(read.data.maxBytes) && read.data.maxBytes > 0).toBe(true);
              expect(read.data.maxBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
            }
            expect(Object.keys(read.data).every((k) => k === "path" || k === "maxBytes")).toBe(true);
          }
          const exec = ExecCommandArgs.safeParse(value);
          if (exec.success) {
            expect(exec.data.command.length).toBeGreaterThan(0);
            if (exec.data.timeoutMs !== undefined) {
              expect(Number.isInteger(exec.data.timeoutMs) && exec.data.timeoutMs > 0).toBe(true);
              expect(exec.data.timeoutMs).toBeLessThanOrEqual(3_600_000);
            }
            expect(Object.keys(exec.data).every((k) => ["command", "timeoutMs", "cwd"].includes(k))).toBe(true);
          }
          const stats = SystemStatsArgs.safeParse(value);
          if (stats.success) expect(stats.data).toEqual({});
        },
      ),
      { numRuns: 3000 },
    );
  });
});
