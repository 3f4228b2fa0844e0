import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUILD_MARK_PREFIX } from "./build-mark.ts";
import { NodeBinaries } from "./node-binaries.ts";
import { NodeBuildWatch, type ServedBuild } from "./node-build-watch.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const silent = { info: () => {}, warn: () => {} };
const build = (version: string | undefined, filler = "runtime") =>
  `${filler}\n${version === undefined ? "" : `const m = "${BUILD_MARK_PREFIX}${version}";\n`}`;

function setup(configuredVersion = "0.1.0") {
  const dir = mkdtempSync(join(tmpdir(), "build-watch-"));
  dirs.push(dir);
  const file = join(dir, "fabricore-node-linux-x64");
  const events: Array<{ build: ServedBuild; previous: ServedBuild }> = [];
  const watch = new NodeBuildWatch({
    binaries: new NodeBinaries(dir, { host: "linux-x64" }),
    configuredVersion,
    intervalMs: 60_000,
    logger: silent,
    onRebuilt: (next, previous) => events.push({ build: next, previous }),
  });
  return { dir, file, events, watch };
}

describe("NodeBuildWatch", () => {
  it("serves the build's own version, and takes a replaced build once it stayed the same for one poll", async () => {
    const { dir, file, events, watch } = setup();
    writeFileSync(file, build("1.0.0-a"));
    await watch.start();
    expect(watch.version).toBe("1.0.0-a");
    await watch.poll();
    expect(events).toEqual([]);

    // Replaced the way a build does it: a new file renamed over the old one.
    writeFileSync(join(dir, "next"), build("1.1.0-b", "another runtime"));
    renameSync(join(dir, "next"), file);
    await watch.poll();
    expect(events).toEqual([]);
    expect(watch.version).toBe("1.0.0-a");
    await watch.poll();
    expect(events).toHaveLength(1);
    expect(events[0]?.previous.version).toBe("1.0.0-a");
    expect(events[0]?.build.version).toBe("1.1.0-b");
    expect(watch.version).toBe("1.1.0-b");
    await watch.poll();
    expect(events).toHaveLength(1);
    watch.close();
  });

  it("does not take a file still being written: every poll that sees it change starts the wait again", async () => {
    const { file, events, watch } = setup();
    writeFileSync(file, build("1.0.0-a"));
    await watch.start();
    const base = Date.now() / 1000;
    for (let i = 1; i <= 3; i++) {
      writeFileSync(file, "x".repeat(i * 1000));
      utimesSync(file, base + i, base + i);
      await watch.poll();
    }
    expect(events).toEqual([]);
    writeFileSync(file, build("1.2.0-c"));
    utimesSync(file, base + 10, base + 10);
    await watch.poll();
    await watch.poll();
    expect(events.map((e) => e.build.version)).toEqual(["1.2.0-c"]);
  });

  it("a build without a mark is served as the configured version; a rebuild with the same version is still told", async () => {
    const { file, events, watch } = setup("0.3.0");
    writeFileSync(file, build(undefined));
    await watch.start();
    expect(watch.version).toBe("0.3.0");
    writeFileSync(file, build(undefined, "rebuilt runtime"));
    await watch.poll();
    await watch.poll();
    expect(events.map((e) => [e.previous.version, e.build.version])).toEqual([["0.3.0", "0.3.0"]]);
    expect(events[0]?.build.fingerprint).not.toBe(events[0]?.previous.fingerprint);
  });

  it("no build at all: the configured version, and a build appearing later is taken", async () => {
    const { file, events, watch } = setup("0.3.0");
    await watch.start();
    expect(watch.version).toBe("0.3.0");
    writeFileSync(file, build("0.4.0"));
    await watch.poll();
    await watch.poll();
    expect(events.map((e) => e.build.version)).toEqual(["0.4.0"]);
  });
});
