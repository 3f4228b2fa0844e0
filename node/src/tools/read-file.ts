import { constants } from "node:fs";
import { type FileHandle, open, readlink, realpath } from "node:fs/promises";
import { isAbsolute, sep } from "node:path";
import { ReadFileArgs, type ToolResult } from "@fabricore/protocol";
import { errorResult, parseArgs } from "./result.ts";

export const READ_FILE_DEFAULT_MAX_BYTES = 1024 * 1024;
/** Whatever maxBytes asks for, one answer stays well inside the 4 MiB WebSocket frame (JSON escaping
 * can grow text, and the frame carries the envelope too). */
export const READ_FILE_HARD_MAX_BYTES = 2 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const BINARY_SNIFF_BYTES = 8 * 1024;

/** Is `path` the root itself or below it? Both must already be real (symlink-free) absolute paths. */
export function isWithin(root: string, path: string): boolean {
  if (root === sep) return path.startsWith(sep);
  return path === root || path.startsWith(root + sep);
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : undefined;
}

/** The real paths of the configured roots; a root that disappeared since start-up simply admits nothing. */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const resolved = await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)));
  return resolved.filter((root): root is string => root !== undefined);
}

export interface ReadFileOptions {
  /** Directories never served, whatever the roots say: the Node's data dir (its private key,
   * identity.json). Resolved at each call, like the roots. */
  denied?: readonly string[] | undefined;
}

/** The given paths and their real paths: a denied dir is refused by either spelling. */
async function deniedDirs(denied: readonly string[]): Promise<string[]> {
  const real = await Promise.all(denied.map((dir) => realpath(dir).catch(() => dir)));
  // The Node's own /proc entry: its environ holds the enrollment token, its fds the open key file.
  return [...new Set([...denied, ...real, `/proc/${process.pid}`])];
}

function deniedReason(path: string, real: string, denied: readonly string[]): string | undefined {
  if (!denied.some((dir) => isWithin(dir, real))) return undefined;
  return (
    `${path} is refused: it is in this Node's own data or process files (its private key, identity, ` +
    "environment); read_file never serves them, whatever the read roots say"
  );
}

/** The roots that contain a denied dir (the start-up warning of issue 15.2). */
export async function rootsContaining(roots: readonly string[], dir: string): Promise<string[]> {
  const realDir = await realpath(dir).catch(() => dir);
  const out: string[] = [];
  for (const root of roots) {
    const realRoot = await realpath(root).catch(() => root);
    if (isWithin(realRoot, realDir)) out.push(root);
  }
  return out;
}

/**
 * `read_file`: text of a regular file below one of the read roots, never in a denied dir. The path is resolved with
 * realpath BEFORE the check, so `..`, symlinks and magic links like /proc/self/root cannot lead out;
 * the file is then opened without following a final symlink and, on Linux, the opened descriptor's
 * own path is checked again, which closes the race of a path swapped between check and open.
 */
export async function readFileTool(
  rawArgs: unknown,
  roots: readonly string[],
  options: ReadFileOptions = {},
): Promise<ToolResult> {
  const parsed = parseArgs("read_file", ReadFileArgs, rawArgs);
  if (!parsed.ok) return parsed.result;
  if (roots.length === 0) {
    return errorResult(
      "read_file is disabled on this Node: no read root is configured. Start the Node with --read-root DIR " +
        "(or FABRICORE_READ_ROOTS=DIR) to allow reading files below DIR.",
      { code: "not_allowed" },
    );
  }
  const { path } = parsed.value;
  const requested = parsed.value.maxBytes ?? READ_FILE_DEFAULT_MAX_BYTES;
  const maxBytes = Math.min(requested, READ_FILE_HARD_MAX_BYTES);
  if (!isAbsolute(path)) {
    return errorResult(`path must be absolute, got "${path}". Readable roots: ${roots.join(", ")}`);
  }

  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    return errorResult(describeFsError(error, path));
  }
  const allowed = await realRoots(roots);
  if (!allowed.some((root) => isWithin(root, real))) {
    const via = real === path ? "" : ` (it resolves to ${real})`;
    return errorResult(`${path} is outside this Node's read roots${via}. Readable roots: ${roots.join(", ")}`, {
      code: "not_allowed",
    });
  }
  const denied = await deniedDirs(options.denied ?? []);
  const refusal = deniedReason(path, real, denied);
  if (refusal) return errorResult(refusal, { code: "not_allowed" });

  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    return errorResult(describeFsError(error, path));
  }
  try {
    if (process.platform === "linux") {
      const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
      if (
        opened !== undefined &&
        (!allowed.some((root) => isWithin(root, opened)) || deniedReason(path, opened, denied))
      ) {
        return errorResult(`${path} changed while it was being opened; refused`, { code: "not_allowed" });
      }
    }
    const stat = await handle.stat();
    if (!stat.isFile()) {
      const kind = stat.isDirectory() ? "a directory" : "not a regular file (device, socket or FIFO)";
      return errorResult(`${path} is ${kind}; read_file reads regular files only`);
    }
    // Read in chunks up to maxBytes+1 instead of trusting st.size: files under /proc and /sys report
    // size 0, and a log file may grow while it is read.
    const chunks: Buffer[] = [];
    let total = 0;
    while (total <= maxBytes) {
      const want = Math.min(CHUNK_BYTES, maxBytes + 1 - total);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    const data = Buffer.concat(chunks, total);
    const truncated = total > maxBytes;
    const body = truncated ? data.subarray(0, maxBytes) : data;
    if (body.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
      return errorResult(`${path} looks like a binary file (${stat.size} bytes); read_file returns text only`, {
        code: "binary",
      });
    }
    // stream:true holds back a multi-byte character cut in half by the cap instead of emitting U+FFFD.
    const text = new TextDecoder("utf-8").decode(body, { stream: truncated });
    const sizeBytes = Math.max(stat.size, total);
    const content: ToolResult["content"] = [{ type: "text", text }];
    if (truncated) {
      const clamp = requested > maxBytes ? ` (maxBytes is capped at ${READ_FILE_HARD_MAX_BYTES})` : "";
      content.push({
        type: "text",
        text: `[truncated: showing the first ${maxBytes} bytes of ${stat.size > 0 ? `${stat.size}` : "more than that"}${clamp}]`,
      });
    }
    return {
      content,
      structuredContent: { path, resolvedPath: real, sizeBytes, bytesReturned: body.length, truncated },
      isError: false,
      durationMs: 0,
    };
  } catch (error) {
    return errorResult(describeFsError(error, path));
  } finally {
    await handle.close().catch(() => {});
  }
}

function describeFsError(error: unknown, path: string): string {
  switch (errnoCode(error)) {
    case "ENOENT":
      return `no such file: ${path}`;
    case "ENOTDIR":
      return `a component of ${path} is not a directory`;
    case "EACCES":
    case "EPERM":
      return `permission denied: ${path} (the Node process may not read it)`;
    case "ELOOP":
      return `${path} is a symlink loop or changed into a symlink while it was opened; refused`;
    case "EISDIR":
      return `${path} is a directory; read_file reads regular files only`;
    default:
      return `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
