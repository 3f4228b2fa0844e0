import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// protocol/ is shared by the Core, the Node binary and the browser UI: it must stay free of I/O.
describe("protocol purity", () => {
  it("imports nothing but zod and its own files", () => {
    const dir = import.meta.dirname;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
      const source = readFileSync(join(dir, file), "utf8");
      const imports = [...source.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]);
      for (const spec of imports)
        expect(spec === "zod" || spec?.startsWith("./"), `${file} imports ${spec}`).toBe(true);
      expect(source).not.toMatch(/\b(process|require|fetch)\s*[.(]/);
    }
  });
});
