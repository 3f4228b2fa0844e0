import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

// The command line is a client of the HTTP API: it may use protocol/ (pure zod), yaml, zod and
// node:, never the Core's code — what the Core exports over HTTP is the only thing it relies on.
const ALLOWED = (spec: string) =>
  spec.startsWith("./") ||
  spec.startsWith("../") ||
  spec.startsWith("node:") ||
  spec === "zod" ||
  spec === "yaml" ||
  spec === "@fabricore/protocol";

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

describe("cli imports", () => {
  it("reach nothing of the Core, and no relative import leaves cli/", () => {
    const root = import.meta.dirname;
    const files = sources(root);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
        const name = relative(root, file);
        expect(ALLOWED(spec!), `${name} imports ${spec}`).toBe(true);
        if (spec!.startsWith("../"))
          expect(join(file, "..", spec!).startsWith(join(root, "..")), `${name}: ${spec}`).toBe(true);
      }
    }
  });
});
