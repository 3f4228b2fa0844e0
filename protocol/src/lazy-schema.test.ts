import { types } from "node:util";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { z } from "zod";
import * as eager from "./index.ts";
import { lazyProxy, lazySchema } from "./lazy-schema.ts";

/** protocol as the compiled Node loads it: lazy-schema.ts reads the runtime when it loads, so a fresh
 * module graph is evaluated with `Bun` present (this file's static import keeps the eager one). */
async function loadLazyProtocol(): Promise<typeof eager> {
  vi.resetModules();
  const scope = globalThis as { Bun?: unknown };
  scope.Bun = {};
  try {
    return await import("./index.ts");
  } finally {
    delete scope.Bun;
  }
}

const lazy = await loadLazyProtocol();

const schemaOf = (module: typeof eager, name: string) =>
  (Object.entries(module).find(([key]) => key === name)?.[1] ?? null) as z.ZodType;
const schemaNames = Object.entries(eager)
  .filter(([, value]) => value instanceof z.ZodType)
  .map(([name]) => name);

/** Same outcome: success, the parsed value, or the same issues. */
function outcome(schema: z.ZodType, value: unknown) {
  const parsed = schema.safeParse(value);
  return parsed.success ? { data: parsed.data } : { issues: parsed.error.issues };
}

describe("lazySchema", () => {
  it("builds at once outside Bun: the Core and the UI keep zod's own objects", () => {
    const schema = lazySchema(() => z.object({ a: z.string() }));
    expect(types.isProxy(schema)).toBe(false);
    expect(types.isProxy(eager.HelloParams)).toBe(false);
  });

  it("builds nothing until first use, then once", () => {
    const build = vi.fn(() => z.object({ name: z.string().min(1), count: z.number().default(1) }));
    const schema = lazyProxy(build);
    const holder = { schema };
    expect(build).not.toHaveBeenCalled();
    expect(holder.schema.parse({ name: "x" })).toEqual({ name: "x", count: 1 });
    expect(schema.safeParse({ name: "" }).success).toBe(false);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it("behaves as the schema it builds: instanceof, derived schemas, nesting, JSON Schema", () => {
    const real = z.object({ path: z.string().describe("a path"), n: z.number().int().optional() });
    const wrapped = lazyProxy(() => z.object({ path: z.string().describe("a path"), n: z.number().int().optional() }));
    expect(wrapped instanceof z.ZodType).toBe(true);
    expect(Object.keys(wrapped.shape)).toEqual(["path", "n"]);
    expect(wrapped.extend({ extra: z.boolean() }).parse({ path: "/", extra: true })).toEqual({
      path: "/",
      extra: true,
    });
    expect(wrapped.partial().parse({})).toEqual({});
    expect(wrapped.optional().parse(undefined)).toBeUndefined();
    const outer = z.object({ inner: wrapped, list: z.array(wrapped) });
    expect(outer.parse({ inner: { path: "/a" }, list: [{ path: "/b", n: 2 }] })).toEqual({
      inner: { path: "/a" },
      list: [{ path: "/b", n: 2 }],
    });
    expect(z.toJSONSchema(wrapped)).toEqual(z.toJSONSchema(real));
    expect(z.toJSONSchema(z.object({ x: wrapped }))).toEqual(z.toJSONSchema(z.object({ x: real })));
    expect(outcome(wrapped, { path: 3 })).toEqual(outcome(real, { path: 3 }));
  });
});

describe("protocol built lazily (as under Bun)", () => {
  it("holds Proxies where the Core holds schemas", () => {
    expect(schemaNames.length).toBeGreaterThan(50);
    expect(types.isProxy(lazy.HelloParams)).toBe(true);
    expect(types.isProxy(lazy.coreToNode["tools/call"].params)).toBe(true);
  });

  it("describes every schema exactly as the eager build does (JSON Schema, input and output)", () => {
    for (const name of schemaNames) {
      for (const io of ["input", "output"] as const) {
        const options = { io, unrepresentable: "any" } as const;
        expect(z.toJSONSchema(schemaOf(lazy, name), options), `${name} ${io}`).toEqual(
          z.toJSONSchema(schemaOf(eager, name), options),
        );
      }
    }
    expect(lazy.builtinToolDescriptors).toEqual(eager.builtinToolDescriptors);
  });

  it("parses what the eager build parses, with the same results and issues", () => {
    const samples = [
      { kind: "managed", name: "fs", image: "mcp/filesystem:1", network: true },
      { kind: "managed", name: "fs", image: "mcp/filesystem:1", network: { allow: ["*.example.com:443"] } },
      { kind: "remote", name: "r", url: "https://mcp.example.com/mcp" },
      { name: "read_file", arguments: { path: "/etc/hostname" }, deadlineMs: 1000, callId: "c1" },
      { content: [{ type: "text", text: "hi" }], isError: false },
      { at: 1, stats: { hostname: "h" } },
      { servers: [] },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: {} },
    ];
    const catalogs = [
      [lazy.coreToNode, eager.coreToNode],
      [lazy.nodeToCore, eager.nodeToCore],
    ] as const;
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...samples), fc.anything({ withNullPrototype: true })), (value) => {
        for (const [lazyCatalog, eagerCatalog] of catalogs) {
          for (const [method, entry] of Object.entries(eagerCatalog)) {
            const lazyEntry = lazyCatalog[method as keyof typeof lazyCatalog] as {
              params: z.ZodType;
              result?: z.ZodType;
            };
            expect(outcome(lazyEntry.params, value)).toEqual(outcome(entry.params, value));
            if ("result" in entry) expect(outcome(lazyEntry.result!, value)).toEqual(outcome(entry.result, value));
          }
        }
        for (const name of [
          "McpServerSpec",
          "McpNetwork",
          "ToolDescriptor",
          "EnrollRequest",
          "NodeUpdateOfferParams",
        ]) {
          expect(outcome(schemaOf(lazy, name), value)).toEqual(outcome(schemaOf(eager, name), value));
        }
        const frame = JSON.stringify(value) ?? "";
        expect(lazy.decodeFrame(frame)).toEqual(eager.decodeFrame(frame));
      }),
      { numRuns: 300 },
    );
  });
});
