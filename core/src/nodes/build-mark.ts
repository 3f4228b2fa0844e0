import { open } from "node:fs/promises";

/**
 * How a compiled Node says which version it is without being run: make build-node (and
 * e2e/support/node-builds.ts) define FABRICORE_NODE_BUILD_MARK as this prefix plus the version, and
 * node/src/main.ts takes its version from it, so the mark sits in the bundle's text inside the
 * executable. Running the file to ask it would run whatever is in the binary directory with the
 * Core's own rights (its master key, its database); reading it runs nothing.
 */
export const BUILD_MARK_PREFIX = "fabricore-node-version=";
const MARK = Buffer.from(BUILD_MARK_PREFIX, "latin1");
/** A version's characters, as install-script.ts and the protocol's 64-character limit allow. */
const VERSION_BYTE = /^[0-9A-Za-z.+-]$/;
const MAX_VERSION = 64;
/** Bun appends the bundle at the end of the runtime: the mark is in the last few MB of a build. */
const CHUNK = 4 * 1024 * 1024;

/** The version in the file's build mark (the last one), or undefined when it has none. */
export async function readBuildVersion(path: string): Promise<string | undefined> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    // Read backwards; each chunk overlaps the next by a whole mark, so none is cut in two.
    const overlap = MARK.length + MAX_VERSION + 1;
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - CHUNK);
      const length = Math.min(end + overlap, size) - start;
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await file.read(buffer, 0, length, start);
      const version = lastMark(buffer.subarray(0, bytesRead));
      if (version !== undefined) return version;
      end = start;
    }
    return undefined;
  } finally {
    await file.close();
  }
}

/** The last whole mark in `bytes`: the prefix, 1–64 version characters, then a byte outside them. */
function lastMark(bytes: Buffer): string | undefined {
  for (let at = bytes.lastIndexOf(MARK); at !== -1; at = at === 0 ? -1 : bytes.lastIndexOf(MARK, at - 1)) {
    const start = at + MARK.length;
    let end = start;
    while (end < bytes.length && end - start <= MAX_VERSION && VERSION_BYTE.test(String.fromCharCode(bytes[end] ?? 0)))
      end++;
    if (end > start && end - start <= MAX_VERSION && end < bytes.length) return bytes.toString("latin1", start, end);
  }
  return undefined;
}
