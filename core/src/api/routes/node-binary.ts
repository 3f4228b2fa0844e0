import { createReadStream } from "node:fs";
import { NODE_UPDATE_KEY_PATH, NODE_UPDATE_SIGNATURE_HEADER, NodeUpdateKeyResponse } from "@fabricore/protocol";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { CoreError } from "../../errors.ts";
import { type NodeBinaries, type NodeBinary, NodeBinaryError } from "../../nodes/node-binaries.ts";
import { type ServedVersion, servedVersionNow } from "../../nodes/node-build-watch.ts";
import { errorBody } from "../errors.ts";

export const NODE_BINARY_PATH = "/api/nodes/binary/:platform";
/** The digest of the executable's bytes (uncompressed), whatever the transfer encoding. */
export const SHA256_HEADER = "x-fabricore-sha256";
export const NODE_VERSION_HEADER = "x-fabricore-node-version";

const Params = z.object({ platform: z.string().min(1).max(64) });

/** A byte range of a file of `size` bytes: inclusive `start`..`end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * One `Range: bytes=…` header against a file of `size` bytes (RFC 9110 §14): the range, "none"
 * when it is to be ignored (not bytes, several ranges, malformed: the whole file is sent), or
 * "unsatisfiable" (416). Several ranges would need multipart/byteranges, which no downloader of
 * an executable asks for; sending the whole file instead is what the RFC allows.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "none" | "unsatisfiable" {
  if (header === undefined) return "none";
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return "none";
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return "none";
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return "none";
  return { start, end };
}

/** Whether the client takes gzip (`Accept-Encoding`, a q of 0 refusing it). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  return header.split(",").some((part) => {
    const [coding = "", ...params] = part.trim().toLowerCase().split(";");
    if (coding.trim() !== "gzip" && coding.trim() !== "x-gzip") return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function etagOf(binary: NodeBinary, gzip: boolean): string {
  return gzip ? `"${binary.sha256}-gzip"` : `"${binary.sha256}"`;
}

/** If-None-Match against either representation's tag (weak comparison, `*` matches). */
function notModified(request: FastifyRequest, binary: NodeBinary): boolean {
  const header = request.headers["if-none-match"];
  if (!header) return false;
  if (header.trim() === "*") return true;
  const tags = header.split(",").map((t) => t.trim().replace(/^W\//, ""));
  return tags.includes(etagOf(binary, false)) || tags.includes(etagOf(binary, true));
}

/**
 * `GET /api/nodes/binary/:platform` (public, CONTRACT "Node lifecycle"): the Node executable with its
 * SHA-256 in `X-FabriCore-SHA256`, a strong ETag (the digest), byte ranges (a resumed download),
 * and gzip when the client accepts it and the compressed copy is ready. Streamed from disk; the
 * digest is computed once per build (NodeBinaries).
 */
export async function nodeBinaryRoutes(app: FastifyInstance, deps: BinaryDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  if (deps.releaseKey) {
    const publicKey = deps.releaseKey.publicKey;
    // Public, like the binary: a Node pins it at enrollment; an operator compares it out of band.
    r.get(
      NODE_UPDATE_KEY_PATH,
      { schema: { response: { 200: NodeUpdateKeyResponse } }, config: { role: "public" as const } },
      async () => ({ publicKey }),
    );
  }
  const handler = async (request: FastifyRequest<{ Params: z.infer<typeof Params> }>, reply: FastifyReply) => {
    const binary = await deps.binaries.find(request.params.platform).catch((error: unknown) => {
      if (error instanceof NodeBinaryError) throw new CoreError("not_found", error.message);
      throw error;
    });
    return sendBinary(request, reply, binary, deps);
  };
  const options = {
    schema: { params: Params },
    config: { role: "public" as const },
    // Not @fastify/compress's on-the-fly brotli/gzip (it counts octet-stream as compressible): 110 MB
    // compressed per download would cost every download tens of seconds of CPU. A gzip copy made
    // once per build is sent instead (sendBinary).
    compress: false as const,
  };
  // HEAD is its own route, registered first so Fastify makes no automatic one: that one would
  // read the whole file to discard it and answer Content-Length 0. Hidden: the document's GET
  // says it all.
  r.head(NODE_BINARY_PATH, { ...options, schema: { ...options.schema, hide: true } }, handler);
  r.get(NODE_BINARY_PATH, options, handler);
}

/** What signs a build for self-update (nodes/release-key.ts). */
export interface BuildSigner {
  readonly publicKey: string;
  sign(platform: string, version: string, sha256: string): string;
}

interface BinaryDeps {
  binaries: NodeBinaries;
  /** The served version (it follows a rebuild), for a build that carries no version mark of its own. */
  nodeVersion: ServedVersion;
  /** Unset: no signature header and no update key (a Node with --auto-update then refuses). */
  releaseKey?: BuildSigner | undefined;
}

function sendBinary(request: FastifyRequest, reply: FastifyReply, binary: NodeBinary, deps: BinaryDeps) {
  // The version the file says it is (what it will say in its hello), else the served one.
  const version = binary.version ?? servedVersionNow(deps.nodeVersion) ?? "unknown";
  if (deps.releaseKey) {
    // Over the digest of the uncompressed bytes, with the platform and version: what the Node checks.
    reply.header(NODE_UPDATE_SIGNATURE_HEADER, deps.releaseKey.sign(binary.platform, version, binary.sha256));
  }
  reply
    .header(SHA256_HEADER, binary.sha256)
    .header(NODE_VERSION_HEADER, version)
    .header("accept-ranges", "bytes")
    .header("vary", "accept-encoding")
    .header("last-modified", new Date(binary.mtimeMs).toUTCString())
    // Revalidate every time (the ETag makes that cheap): a rebuilt Node must not be served stale.
    .header("cache-control", "no-cache")
    .header("content-disposition", 'attachment; filename="fabricore-node"')
    .type("application/octet-stream");
  const head = request.method === "HEAD";
  if (notModified(request, binary)) return reply.code(304).header("etag", etagOf(binary, false)).send();

  // A range is of the uncompressed bytes, and only while the file is still the one the client
  // started from (If-Range with our ETag); otherwise the whole current file.
  const ifRange = request.headers["if-range"];
  const rangeHeader =
    ifRange === undefined || (typeof ifRange === "string" && ifRange.trim() === etagOf(binary, false))
      ? request.headers.range
      : undefined;
  const range = parseRange(rangeHeader, binary.size);
  if (range === "unsatisfiable") {
    return reply
      .code(416)
      .header("content-range", `bytes */${binary.size}`)
      .type("application/json")
      .send(errorBody("range_not_satisfiable", `the range ${String(rangeHeader)} is outside the ${binary.size} bytes`));
  }
  if (range !== "none") {
    reply
      .code(206)
      .header("etag", etagOf(binary, false))
      .header("content-range", `bytes ${range.start}-${range.end}/${binary.size}`)
      .header("content-length", String(range.end - range.start + 1));
    return reply.send(head ? undefined : createReadStream(binary.path, { start: range.start, end: range.end }));
  }

  const gzipPath = acceptsGzip(request.headers["accept-encoding"]) ? deps.binaries.gzipped(binary) : undefined;
  if (gzipPath !== undefined) {
    // The compressed copy's length is not known without a stat per request; chunked is fine.
    reply.header("etag", etagOf(binary, true)).header("content-encoding", "gzip");
    return reply.send(head ? undefined : createReadStream(gzipPath));
  }
  reply.header("etag", etagOf(binary, false)).header("content-length", String(binary.size));
  return reply.send(head ? undefined : createReadStream(binary.path));
}
