import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { NODE_UPDATE_SIGNATURE_HEADER } from "@fabricore/protocol";

/** What the Core said about the build, and what arrived. */
export interface DownloadedBuild {
  path: string;
  /** SHA-256 of the bytes written (uncompressed), computed while they arrived. */
  sha256: string;
  size: number;
  claimedSha256: string | undefined;
  version: string | undefined;
  signature: string | undefined;
}

/** The Core answered 304 to `skip`: it still serves a build this Node refused or rolled back
 * (`sha256`, from its ETag), so nothing was downloaded. */
export interface SkippedBuild {
  skipped: true;
  sha256: string;
}

/** At most this many digests go into If-None-Match (a header stays small whatever happened before). */
const MAX_SKIP_TAGS = 16;

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DownloadError";
  }
}

/** The largest executable the Node accepts (today's is ~110 MB): a Core cannot fill the disk. */
const MAX_BYTES = 512 * 1024 * 1024;

/**
 * GETs the Node build at `url` into `path` (created 0700, replaced if there), hashing it on the way.
 * Takes gzip (the Core's compressed copy halves the transfer). Nothing is trusted here: the caller
 * checks the digest and the signature (verify-build.ts) before the file is used. `skip`: digests
 * not to download again; they go out as If-None-Match, so a Core still serving one answers 304
 * instead of 100 MB (a fleet reconnecting after a Core restart would otherwise pull the refused
 * build once per Node and hello).
 */
export function downloadBuild(
  url: string,
  path: string,
  options: {
    ca?: string | undefined;
    timeoutMs?: number;
    signal?: AbortSignal;
    skip?: Iterable<string>;
  } = {},
): Promise<DownloadedBuild | SkippedBuild> {
  const skip = [...(options.skip ?? [])].slice(-MAX_SKIP_TAGS);
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const request = (secure ? https : http).get(
      target,
      {
        agent: false,
        headers: {
          "accept-encoding": "gzip",
          ...(skip.length > 0 && { "if-none-match": skip.map((sha) => `"${sha}"`).join(", ") }),
        },
        timeout: options.timeoutMs ?? 60_000,
        ...(secure && options.ca !== undefined && { ca: options.ca }),
        ...(options.signal && { signal: options.signal }),
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const tag = /^(?:W\/)?"([0-9a-f]{64})(?:-gzip)?"$/.exec(String(response.headers.etag ?? ""))?.[1];
        if (status === 304 && tag !== undefined && skip.includes(tag)) {
          response.resume();
          resolve({ skipped: true, sha256: tag });
          return;
        }
        if (status !== 200) {
          response.resume();
          reject(new DownloadError(`GET ${target.pathname}: HTTP ${status}`));
          return;
        }
        const header = (name: string) => {
          const value = response.headers[name];
          return typeof value === "string" && value !== "" ? value : undefined;
        };
        const hash = createHash("sha256");
        let size = 0;
        const count = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            size += chunk.length;
            if (size > MAX_BYTES) return done(new DownloadError(`the build is larger than ${MAX_BYTES} bytes`));
            hash.update(chunk);
            done(null, chunk);
          },
        });
        const gzip = header("content-encoding") === "gzip";
        const file = createWriteStream(path, { mode: 0o700 });
        const stages = gzip ? pipeline(response, createGunzip(), count, file) : pipeline(response, count, file);
        stages.then(
          () =>
            resolve({
              path,
              sha256: hash.digest("hex"),
              size,
              claimedSha256: header("x-fabricore-sha256")?.toLowerCase(),
              version: header("x-fabricore-node-version"),
              signature: header(NODE_UPDATE_SIGNATURE_HEADER),
            }),
          (error: unknown) => {
            // Best effort: a failed clean-up must not turn into an unhandled rejection (the Node would die).
            rm(path, { force: true }).catch(() => {});
            reject(error instanceof Error ? error : new DownloadError(String(error)));
          },
        );
      },
    );
    request.on("timeout", () => request.destroy(new DownloadError(`no answer from ${target.origin} in time`)));
    request.on("error", reject);
  });
}
