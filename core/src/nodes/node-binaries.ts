import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { arch } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { readBuildVersion } from "./build-mark.ts";

/** The platforms the Core serves the Node for (`make build-node` builds both). */
export const NODE_PLATFORMS = ["linux-x64", "linux-arm64"] as const;
export type NodePlatform = (typeof NODE_PLATFORMS)[number];

export function isNodePlatform(value: string): value is NodePlatform {
  return (NODE_PLATFORMS as readonly string[]).includes(value);
}

/** This host's platform in the same names, or undefined when it is not one the Core serves. */
export function hostPlatform(): NodePlatform | undefined {
  const name = `${process.platform}-${arch()}`;
  return isNodePlatform(name) ? name : undefined;
}

export type NodeBinaryErrorCode = "unknown_platform" | "binary_missing";

export class NodeBinaryError extends Error {
  readonly code: NodeBinaryErrorCode;
  constructor(code: NodeBinaryErrorCode, message: string) {
    super(message);
    this.name = "NodeBinaryError";
    this.code = code;
  }
}

/** One built Node executable as found on disk. */
export interface NodeBinary {
  platform: NodePlatform;
  path: string;
  size: number;
  mtimeMs: number;
  /** Lower-case hex SHA-256 of the file's bytes. */
  sha256: string;
  /** The version the build says it is (its mark, build-mark.ts); undefined: the build has no mark. */
  version: string | undefined;
}

/**
 * The Node executables in one directory (FABRICORE_NODE_BINARY_DIR, default the repo's dist/):
 * `fabricore-node-<platform>`, or plain `fabricore-node` for this host's own platform (what
 * `make build-node TARGET=` and a bare `bun build` write). The digest is computed once per file
 * version (path, size, mtime): a rebuild is noticed at the next request (or by NodeBuildWatch,
 * node-build-watch.ts, which polls), and hashing 110 MB is not repeated for every download. Concurrent first requests share one hashing pass.
 */
export class NodeBinaries {
  readonly dir: string;
  readonly #host: NodePlatform | undefined;
  readonly #gzipDir: string | undefined;
  readonly #digests = new Map<string, { key: string; inspected: Promise<InspectedBuild> }>();
  /** Digest → the gzip copy being written (or written). */
  readonly #gzips = new Map<string, Promise<string | undefined>>();
  readonly #ready = new Set<string>();
  /** Platform → the digest last served for it. */
  readonly #current = new Map<NodePlatform, string>();

  /** `gzipDir`: where gzip copies are kept (one per digest); none: never compressed. */
  constructor(dir: string, options: { gzipDir?: string; host?: NodePlatform | undefined } = {}) {
    this.dir = dir;
    this.#host = "host" in options ? options.host : hostPlatform();
    this.#gzipDir = options.gzipDir;
  }

  /**
   * The gzip copy of `binary` when it is ready, else undefined (and it is started). Compressing
   * 110 MB takes tens of seconds of CPU (about half the size at level 6): done once per build in
   * the background, never per download. Until it is ready, downloads go out uncompressed.
   */
  gzipped(binary: NodeBinary): string | undefined {
    if (this.#gzipDir === undefined) return undefined;
    if (this.#ready.has(binary.sha256)) return join(this.#gzipDir, `${binary.sha256}.gz`);
    if (!this.#gzips.has(binary.sha256)) this.#gzips.set(binary.sha256, this.#writeGzip(binary, this.#gzipDir));
    return undefined;
  }

  /** Resolves when the gzip copy of `binary` exists (tests, and a Core that wants it warm). */
  async gzipReady(binary: NodeBinary): Promise<string | undefined> {
    this.gzipped(binary);
    return this.#gzips.get(binary.sha256);
  }

  async #writeGzip(binary: NodeBinary, gzipDir: string): Promise<string | undefined> {
    const target = join(gzipDir, `${binary.sha256}.gz`);
    try {
      await mkdir(gzipDir, { recursive: true, mode: 0o700 });
      if (!(await stat(target).catch(() => undefined))?.isFile()) {
        const temp = `${target}.${process.pid}.tmp`;
        await pipeline(createReadStream(binary.path), createGzip({ level: 6 }), createWriteStream(temp));
        // The file may have been rebuilt while it was read: keep the copy only if it is still the
        // version whose digest names it.
        if ((await hashFile(binary.path)) !== binary.sha256) {
          await rm(temp, { force: true });
          this.#gzips.delete(binary.sha256);
          return undefined;
        }
        await rename(temp, target);
      }
      // Copies of older builds are of no use to anyone.
      for (const name of await readdir(gzipDir)) {
        if (name.endsWith(".gz") && name !== `${binary.sha256}.gz` && !this.#isCurrent(name)) {
          await rm(join(gzipDir, name), { force: true });
          // Forgotten with its file: that build served again (an operator putting it back) gets a
          // new copy, not a path to a deleted one (a 500 for every gzip download until a restart).
          const digest = name.slice(0, -".gz".length);
          this.#ready.delete(digest);
          this.#gzips.delete(digest);
        }
      }
      this.#ready.add(binary.sha256);
      return target;
    } catch {
      this.#gzips.delete(binary.sha256);
      return undefined;
    }
  }

  /** Whether a gzip copy belongs to a build some platform serves now. */
  #isCurrent(fileName: string): boolean {
    return [...this.#current.values()].includes(fileName.replace(/\.gz$/, ""));
  }

  /** The file for `platform` with its digest; NodeBinaryError when unknown or not built. */
  async find(platform: string): Promise<NodeBinary> {
    if (!isNodePlatform(platform)) {
      throw new NodeBinaryError(
        "unknown_platform",
        `no Node build for platform "${platform}": the Core serves ${NODE_PLATFORMS.join(", ")}`,
      );
    }
    const file = await this.locate(platform);
    if (file) {
      const { sha256, version } = await this.#inspect(file.path, file.size, file.mtimeMs);
      this.#current.set(platform, sha256);
      return { platform, ...file, sha256, version };
    }
    const candidates = this.#candidates(platform);
    throw new NodeBinaryError(
      "binary_missing",
      `the Node for ${platform} is not built on this Core (looked for ${candidates.join(", ")}; run make build-node, ` +
        "or point FABRICORE_NODE_BINARY_DIR at the built executables)",
    );
  }

  #candidates(platform: NodePlatform): string[] {
    const candidates = [join(this.dir, `fabricore-node-${platform}`)];
    if (platform === this.#host) candidates.push(join(this.dir, "fabricore-node"));
    return candidates;
  }

  /** The file `find` would serve for `platform`, by stat alone (no hashing); undefined: not built. */
  async locate(platform: NodePlatform): Promise<{ path: string; size: number; mtimeMs: number } | undefined> {
    for (const path of this.#candidates(platform)) {
      const info = await stat(path).catch(() => undefined);
      if (info?.isFile()) return { path, size: info.size, mtimeMs: info.mtimeMs };
    }
    return undefined;
  }

  /** The platforms in the order their build names the served version: this host's own first. */
  platforms(): NodePlatform[] {
    return [...NODE_PLATFORMS].sort((a, b) => Number(b === this.#host) - Number(a === this.#host));
  }

  /** Every platform with a build, each with its digest (what /install.sh pins). */
  async available(): Promise<Partial<Record<NodePlatform, NodeBinary>>> {
    const out: Partial<Record<NodePlatform, NodeBinary>> = {};
    for (const platform of NODE_PLATFORMS) {
      try {
        out[platform] = await this.find(platform);
      } catch (error) {
        if (!(error instanceof NodeBinaryError)) throw error;
      }
    }
    return out;
  }

  #inspect(path: string, size: number, mtimeMs: number): Promise<InspectedBuild> {
    const key = `${size}:${mtimeMs}`;
    const cached = this.#digests.get(path);
    if (cached?.key === key) return cached.inspected;
    const inspected = inspectBuild(path);
    this.#digests.set(path, { key, inspected });
    // A failed read is not remembered: the next request tries again.
    inspected.catch(() => {
      if (this.#digests.get(path)?.inspected === inspected) this.#digests.delete(path);
    });
    return inspected;
  }
}

export interface InspectedBuild {
  sha256: string;
  /** The version in the build's mark (build-mark.ts); undefined: it has none. */
  version: string | undefined;
}

async function inspectBuild(path: string): Promise<InspectedBuild> {
  const [sha256, version] = await Promise.all([hashFile(path), readBuildVersion(path)]);
  return { sha256, version };
}

export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** The version of the Node this Core serves: node/package.json's when the repository is here (the
 * executables are built from it), else the Core's own (a release ships both at one version). */
export function servedNodeVersion(repoRoot: string, fallback: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(repoRoot, "node", "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : fallback;
  } catch {
    return fallback;
  }
}
