/*
 * Builds the Docker images the MCP tests run, without pulling anything (CI machines reach no
 * registry): `FROM scratch` plus this host's own `node` binary, the shared libraries it links
 * against, and one MCP server bundled into one file:
 * - `mcp/filesystem:latest`: @modelcontextprotocol/server-filesystem, under the image name the
 *   `filesystem` preset uses, so the preset is tested as users run it;
 * - `fabricore-test/everything:latest`: @modelcontextprotocol/server-everything on stdio (slow
 *   tools for deadlines and cancellation, and a tool list that changes after initialize);
 * - `fabricore-test/hostile:latest`: `hostile-mcp-server.mjs` plus the host's /bin/sleep, a server
 *   whose tools attack their own container (fork bomb, memory hog, rootfs writes, network);
 * - `mcp/brave-search:latest`: @modelcontextprotocol/server-brave-search, under the image name the
 *   `brave-search` preset uses (its outbound HTTPS behind an egress allow list, issue 17).
 *
 *   node e2e/images/test-images.ts          build (or confirm) the images
 *
 * Quick when nothing changed: the image carries a label with a hash of its inputs, and a build is
 * skipped when an image with that label already exists.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import Docker from "dockerode";

export const FILESYSTEM_IMAGE = "mcp/filesystem:latest";
export const EVERYTHING_IMAGE = "fabricore-test/everything:latest";
export const HOSTILE_IMAGE = "fabricore-test/hostile:latest";
export const BRAVE_SEARCH_IMAGE = "mcp/brave-search:latest";

interface TestImage {
  tag: string;
  /** The server: an npm package whose `dist/index.js` is bundled, or a file beside this script;
   * either way it becomes /app/dist/index.js. */
  server: { pkg: string } | { file: string };
  /** Host executables copied in at the same path (with the libraries they load). */
  binaries?: string[];
  /** Default arguments after the entrypoint. */
  cmd: string[];
}

const IMAGES: readonly TestImage[] = [
  { tag: FILESYSTEM_IMAGE, server: { pkg: "@modelcontextprotocol/server-filesystem" }, cmd: [] },
  { tag: EVERYTHING_IMAGE, server: { pkg: "@modelcontextprotocol/server-everything" }, cmd: ["stdio"] },
  {
    tag: HOSTILE_IMAGE,
    server: { file: join(import.meta.dirname, "hostile-mcp-server.mjs") },
    // Something cheap to spawn for the fork bomb: a node process each would hit the memory limit
    // long before the pids limit.
    binaries: ["/bin/sleep"],
    cmd: [],
  },
  { tag: BRAVE_SEARCH_IMAGE, server: { pkg: "@modelcontextprotocol/server-brave-search" }, cmd: [] },
];
const HASH_LABEL = "fabricore.test-image.hash";
/** Bump to force a rebuild when this script's output changes in a way its inputs do not show. */
const REVISION = 1;

const require = createRequire(import.meta.url);

export interface TestImagesOptions {
  /** Docker endpoint (socket path); default DOCKER_HOST's socket or /var/run/docker.sock. */
  socketPath?: string;
  log?: (line: string) => void;
}

export function defaultDockerSocket(): string {
  const host = process.env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return host.slice("unix://".length);
  return "/var/run/docker.sock";
}

/** The shared objects the node binary loads (and the dynamic loader itself), as `ldd` lists them. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libs: string[] = [];
  for (const line of out.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const match = line.match(/=>\s*(\/\S+)/) ?? line.match(/^\s*(\/\S+)/);
    if (match?.[1]) libs.push(match[1]);
  }
  if (libs.length === 0 && !/not a dynamic executable|statically linked/.test(out)) {
    throw new Error(`ldd listed no libraries for ${binary}:\n${out}`);
  }
  return libs;
}

function packageVersion(name: string): string {
  const path = require.resolve(`${name}/package.json`);
  return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
}

/** Everything that shapes the image; a change to any of it means a rebuild. */
function inputsHash(image: TestImage, nodeBinary: string, libs: string[]): string {
  const hash = createHash("sha256");
  hash.update(`revision ${REVISION}\n`);
  for (const file of [nodeBinary, ...libs]) {
    const info = statSync(file);
    hash.update(`${file} ${info.size} ${info.mtimeMs}\n`);
  }
  for (const file of image.binaries ?? []) hash.update(`${file} ${statSync(file).size} ${statSync(file).mtimeMs}\n`);
  if ("pkg" in image.server) hash.update(`${image.server.pkg} ${packageVersion(image.server.pkg)}\n`);
  else hash.update(readFileSync(image.server.file));
  hash.update(`${JSON.stringify(image.cmd)}\n`);
  hash.update(`sdk ${packageVersion("@modelcontextprotocol/sdk")}\n`);
  return hash.digest("hex").slice(0, 32);
}

/** An MCP server and all its dependencies in one ESM file, so the image needs no node_modules. */
function bundleServer(pkg: string, outFile: string): void {
  const entry = join(dirname(require.resolve(`${pkg}/package.json`)), "dist/index.js");
  const bun = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
  execFileSync(bun, ["build", entry, "--target=node", "--format=esm", `--outfile=${outFile}`], { stdio: "pipe" });
  // bun build emits ESM; a package.json with type module tells node so without the .mjs extension.
  writeFileSync(join(dirname(outFile), "package.json"), JSON.stringify({ type: "module" }));
}

function stage(context: string, hostPath: string, imagePath: string, mode: number): void {
  const dest = join(context, imagePath);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(hostPath, dest); // follows symlinks: the image gets the real file under the linked name
  chmodSync(dest, mode);
}

async function imageHash(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    return info.Config?.Labels?.[HASH_LABEL];
  } catch {
    return undefined;
  }
}

async function build(docker: Docker, context: string, entries: string[], tag: string, hash: string): Promise<void> {
  const stream = await docker.buildImage(
    { context, src: entries },
    { t: tag, labels: { [HASH_LABEL]: hash }, rm: true, forcerm: true },
  );
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string; stream?: string }>) => {
      const failed = events?.find((e) => e.error);
      if (error) reject(error);
      else if (failed?.error) reject(new Error(`docker build ${tag} failed: ${failed.error}`));
      else resolve();
    });
  });
}

/**
 * Test files run in parallel processes and each calls ensureTestImages(): one builds, the others
 * wait for it and then find the image up to date (instead of building it twice).
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), "fabricore-test-images.lock");
  const deadline = Date.now() + 5 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than any build is left by a killed process.
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 3 * 60_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Builds every test image whose inputs changed since it was last built; returns the tags ready. */
export async function ensureTestImages(options: TestImagesOptions = {}): Promise<string[]> {
  return withBuildLock(async () => {
    const log = options.log ?? (() => {});
    const docker = new Docker({ socketPath: options.socketPath ?? defaultDockerSocket() });
    const nodeBinary = process.execPath;
    const libs = sharedLibraries(nodeBinary);
    for (const image of IMAGES) {
      const hash = inputsHash(image, nodeBinary, libs);
      if ((await imageHash(docker, image.tag)) === hash) {
        log(`${image.tag} is up to date (${hash})`);
        continue;
      }
      const started = Date.now();
      const previous = await docker
        .getImage(image.tag)
        .inspect()
        .then((info) => info.Id)
        .catch(() => undefined);
      await buildImage(docker, image, nodeBinary, libs, hash);
      // The old build lost its tag; drop it unless a container still uses it (then removal fails, harmlessly).
      if (previous)
        await docker
          .getImage(previous)
          .remove()
          .catch(() => {});
      log(`built ${image.tag} (${hash}) in ${Date.now() - started} ms`);
    }
    return IMAGES.map((image) => image.tag);
  });
}

async function buildImage(
  docker: Docker,
  image: TestImage,
  nodeBinary: string,
  libs: string[],
  hash: string,
): Promise<void> {
  const context = mkdtempSync(join(tmpdir(), "fabricore-image-"));
  try {
    stage(context, nodeBinary, "usr/local/bin/node", 0o755);
    const binaries = image.binaries ?? [];
    const allLibs = [...new Set([...libs, ...binaries.flatMap((binary) => sharedLibraries(binary))])];
    for (const lib of allLibs) stage(context, lib, lib.slice(1), 0o755);
    for (const binary of binaries) stage(context, binary, binary.slice(1), 0o755);
    if ("pkg" in image.server) bundleServer(image.server.pkg, join(context, "app/dist/index.js"));
    else {
      mkdirSync(join(context, "app/dist"), { recursive: true });
      copyFileSync(image.server.file, join(context, "app/dist/index.js"));
      writeFileSync(join(context, "app/dist/package.json"), JSON.stringify({ type: "module" }));
    }
    chmodSync(join(context, "app/dist/index.js"), 0o644);
    // One COPY per top-level directory (`COPY . /` would copy the Dockerfile too); the server last,
    // so the node and library layers are shared between the test images.
    const roots = [...[...allLibs, ...binaries].map((path) => path.split("/")[1] ?? ""), "usr", "app"].filter(
      (entry, index, all) => entry !== "" && all.indexOf(entry) === index && existsSync(join(context, entry)),
    );
    writeFileSync(
      join(context, "Dockerfile"),
      [
        "FROM scratch",
        ...roots.map((root) => `COPY ${root} /${root}/`),
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        // Numeric: scratch has no /etc/passwd. The runtime would pick this user anyway.
        "USER 65534:65534",
        'ENTRYPOINT ["node", "/app/dist/index.js"]',
        `CMD ${JSON.stringify(image.cmd)}`,
        "",
      ].join("\n"),
    );
    await build(docker, context, ["Dockerfile", ...roots], image.tag, hash);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureTestImages({ log: (line) => console.log(line) }).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
