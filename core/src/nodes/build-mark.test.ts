import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUILD_MARK_PREFIX, readBuildVersion } from "./build-mark.ts";

const dir = mkdtempSync(join(tmpdir(), "build-mark-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Buffer | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};
const mark = (version: string) => `"${BUILD_MARK_PREFIX}${version}"`;

describe("readBuildVersion", () => {
  it("finds the mark near the end, or anywhere in a file read backwards in chunks", async () => {
    const runtime = Buffer.alloc(9 * 1024 * 1024, 0x41);
    expect(await readBuildVersion(file("tail", Buffer.concat([runtime, Buffer.from(`x=${mark("1.2.3-b")};`)])))).toBe(
      "1.2.3-b",
    );
    expect(await readBuildVersion(file("head", Buffer.concat([Buffer.from(mark("0.9.0")), runtime])))).toBe("0.9.0");
  });

  it("finds a mark that a 4 MiB chunk boundary cuts in two", async () => {
    const size = 8 * 1024 * 1024;
    for (const cut of [3, BUILD_MARK_PREFIX.length + 2]) {
      const bytes = Buffer.alloc(size, 0x20);
      // The chunk boundary (counted from the end) falls `cut` bytes into the mark.
      const at = size - 4 * 1024 * 1024 - cut;
      bytes.write(mark("7.7.7+x"), at, "latin1");
      expect(await readBuildVersion(file(`cut-${cut}`, bytes))).toBe("7.7.7+x");
    }
  });

  it("takes the last whole mark; none, a bare prefix or an over-long version is no version", async () => {
    expect(await readBuildVersion(file("two", `${mark("1.0.0")} … ${mark("2.0.0")}`))).toBe("2.0.0");
    expect(await readBuildVersion(file("none", "#!/bin/sh\nexit 3\n"))).toBeUndefined();
    expect(await readBuildVersion(file("bare", `const p = "${BUILD_MARK_PREFIX}";`))).toBeUndefined();
    expect(await readBuildVersion(file("long", mark("9".repeat(65))))).toBeUndefined();
    expect(await readBuildVersion(file("empty", ""))).toBeUndefined();
  });
});
