import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { useJitlessZod } from "./zod-jitless.ts";

describe("useJitlessZod", () => {
  afterEach(() => {
    z.config({ jitless: undefined });
  });

  it("leaves zod's fast parsers on under Node.js, where the Core may share the process", () => {
    expect(useJitlessZod({})).toBe(false);
    expect(z.config().jitless).toBeFalsy();
  });

  it("turns them off under Bun, and schemas built afterwards still parse and reject the same", () => {
    expect(useJitlessZod({ bun: "1.4.5" })).toBe(true);
    expect(z.config().jitless).toBe(true);
    const schema = z.object({ name: z.string(), n: z.number().int().optional() });
    expect(schema.parse({ name: "a", n: 2, extra: 1 })).toEqual({ name: "a", n: 2 });
    expect(schema.safeParse({ name: 1 }).success).toBe(false);
  });
});
