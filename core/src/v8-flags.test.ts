import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CORE_V8_FLAGS } from "./v8-flags.ts";

const root = join(import.meta.dirname, "../..");

describe("the Core's V8 flags", () => {
  it("are the same in the Makefile's run-core target", () => {
    const makefile = readFileSync(join(root, "Makefile"), "utf8");
    const line = makefile.split("\n").find((l) => l.includes("core/src/main.ts") && l.includes("node "));
    expect(line).toBeDefined();
    for (const flag of CORE_V8_FLAGS) expect(line).toContain(flag);
  });

  it("are the same in the Dockerfile's CMD", () => {
    const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
    const cmd = dockerfile.split("\n").find((l) => l.startsWith("CMD ") && l.includes("core/src/main.ts"));
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!.slice(4))).toEqual(["node", ...CORE_V8_FLAGS, "core/src/main.ts"]);
  });
});
