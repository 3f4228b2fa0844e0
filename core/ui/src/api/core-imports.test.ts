import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The UI takes its API types from the Core's source (types.ts), which must never put a Core module
 * into the bundle: every import that reaches core/src has to be a whole `import type` statement.
 * (Under verbatimModuleSyntax, `import { type X }` keeps an empty `import "…"`, which Vite bundles.)
 */

const UI_SRC = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CORE_SRC = resolve(UI_SRC, "../../src");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Each import or export-from statement of a file: its full text and where it points. */
function importsOf(text: string): { statement: string; specifier: string }[] {
  const pattern = /^(?:import|export)\s[^;]*?from\s+"([^"]+)";|^import\s+"([^"]+)";/gms;
  return [...text.matchAll(pattern)].map((m) => ({ statement: m[0], specifier: m[1] ?? m[2] ?? "" }));
}

const reachesCore = (file: string, specifier: string) =>
  specifier.startsWith("@fabricore/core") ||
  (specifier.startsWith(".") && !relative(CORE_SRC, resolve(dirname(file), specifier)).startsWith(".."));

describe("the UI's imports from the Core", () => {
  const files = sources(UI_SRC);

  it("are type-only statements, so the bundle holds no Core module", () => {
    const offending = files.flatMap((file) =>
      importsOf(readFileSync(file, "utf8"))
        .filter(({ specifier }) => reachesCore(file, specifier))
        .filter(({ statement }) => !/^(?:import|export)\s+type\s/.test(statement))
        .map(({ statement }) => `${relative(UI_SRC, file)}: ${statement.split("\n")[0]}`),
    );
    expect(offending).toEqual([]);
  });

  it("are made in api/types.ts alone, where the wire types are named once", () => {
    const importers = files.filter((file) =>
      importsOf(readFileSync(file, "utf8")).some(({ specifier }) => reachesCore(file, specifier)),
    );
    expect(importers.map((file) => relative(UI_SRC, file))).toEqual(["api/types.ts"]);
  });

  it("tells a value import from a type import (the check itself)", () => {
    const file = join(UI_SRC, "api/example.ts");
    const [value, inline, typed] = importsOf(
      [
        'import { Job } from "../../../src/database/types.ts";',
        'import { type Job } from "../../../src/database/types.ts";',
        'import type { Job } from "../../../src/database/types.ts";',
      ].join("\n"),
    );
    expect([value, inline, typed].map((i) => i && reachesCore(file, i.specifier))).toEqual([true, true, true]);
    expect([value, inline, typed].map((i) => i && /^(?:import|export)\s+type\s/.test(i.statement))).toEqual([
      false,
      false,
      true,
    ]);
    expect(reachesCore(file, "./client.ts")).toBe(false);
    expect(reachesCore(file, "@fabricore/protocol")).toBe(false);
  });
});
