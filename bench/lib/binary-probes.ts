/** Compiling and measuring small `bun build --compile` programs beside the Node executable: the hello
 * world baseline, probes that load one part of what the Node loads (bench/fixtures/probes), and the
 * gzip size of an executable as the Core serves it (core/src/nodes/node-binaries.ts, level 6). */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, createReadStream, fsyncSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { ROOT } from "./proc.ts";

/** The `bun build --compile` flags of `make build-node` that change what runs (Makefile BUN_BYTECODE,
 * BUN_JIT, BUN_NO_AUTOLOAD; the sourcemap and externals do not apply to these programs). */
export const COMPILE_FLAGS = [
  "--compile",
  "--minify",
  "--bytecode",
  "--format=esm",
  "--compile-jit-policy=100",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

export function compile(entry: string, outfile: string): void {
  execFileSync(join(ROOT, "node_modules/.bin/bun"), ["build", ...COMPILE_FLAGS, entry, "--outfile", outfile], {
    stdio: "ignore",
  });
}

/** RSS split from /proc/PID/smaps_rollup: pages of mapped files (for these programs almost all the
 * executable itself: Bun's machine code, read-only data and the embedded bundle) vs anonymous memory
 * (the JS heap, malloc, JIT code). */
export function rssSplit(pid: number): { rss: number; file: number; anon: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN) * 1024;
  const rss = kb("Rss");
  const anon = kb("Anonymous");
  return { rss, anon, file: rss - anon };
}

/**
 * Drops one file's pages from the page cache (posix_fadvise DONTNEED through `dd iflag=nocache`; only
 * this file, nothing else on the machine). Pages of an executable count in a process's RSS as they are
 * mapped, and the kernel maps whole cached folios around each fault: a file just written by the
 * compiler sits in larger folios than one read back from disk, and its processes show MiB more RSS for
 * the same code. Dropping both executables first puts the Node and the hello world in the same state.
 */
export function dropFromPageCache(path: string): void {
  // Dirty pages (a file the compiler just wrote) are not dropped: written back first.
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  execFileSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
}

/** Bytes of the file gzipped at level 6, streamed (nothing written). */
export async function gzipSize(path: string): Promise<number> {
  let size = 0;
  await pipeline(
    createReadStream(path),
    createGzip({ level: 6 }),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        done();
      },
    }),
  );
  return size;
}

export interface Probe {
  /** bench/fixtures/probes/<name>.ts */
  name: string;
  /** What it loads, for the table. */
  loads: string;
}

export const PROBES: Probe[] = [
  { name: "zod", loads: "zod (one schema)" },
  { name: "protocol", loads: "@fabricore/protocol (all its schemas, as the Node imports it)" },
  { name: "node-http", loads: "node:http + node:https + an Ed25519 signature (the identity's needs)" },
  { name: "ws-npm", loads: "npm ws as the socket (the Node's transport) instead of Bun's WebSocket" },
  { name: "all-parts", loads: "all of the above together (protocol, node:http/https, Ed25519, npm ws)" },
  {
    name: "native-floor",
    loads: "protocol + Ed25519 + Bun's fetch and WebSocket (a Node on Bun's own clients, no node:http)",
  },
];

/**
 * Compiles every probe, starts them all against `url` (each dials it once, as the hello world does),
 * waits until `connected()` has counted them all, lets them idle and reads their RSS. Started together:
 * memory is per process, and the wall time stays that of one idle period.
 */
export async function measureProbes(options: {
  dir: string;
  url: string;
  idleMs: number;
  connections: () => number;
}): Promise<Map<string, { rss: number; file: number; anon: number }>> {
  const children: ChildProcess[] = [];
  const result = new Map<string, { rss: number; file: number; anon: number }>();
  try {
    const binaries = PROBES.map((probe) => {
      const out = join(options.dir, `probe-${probe.name}`);
      compile(join(ROOT, `bench/fixtures/probes/${probe.name}.ts`), out);
      return out;
    });
    const before = options.connections();
    for (const binary of binaries) children.push(spawn(binary, [options.url], { stdio: "ignore" }));
    const deadline = Date.now() + 30_000;
    while (options.connections() < before + binaries.length) {
      const dead = children.find((child) => child.exitCode !== null);
      if (dead) throw new Error(`probe ${dead.spawnfile} exited with ${dead.exitCode}`);
      if (Date.now() > deadline) throw new Error("probes did not all connect");
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, options.idleMs));
    for (const [i, probe] of PROBES.entries()) result.set(probe.name, rssSplit(children[i]!.pid!));
  } finally {
    for (const child of children) child.kill("SIGKILL");
  }
  return result;
}
