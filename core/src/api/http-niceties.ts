import { randomUUID } from "node:crypto";
import fastifyCompress from "@fastify/compress";
import type { FastifyInstance, FastifyRequest } from "fastify";

/** What browsers, proxies and scripted clients expect of an HTTP server (issue 23): compressed
 * answers, a request id on every answer, 405 with `Allow` for a wrong method and OPTIONS answered. */

export const REQUEST_ID_HEADER = "x-request-id";
/** An incoming id is echoed only when it is short and plain: it reaches the log and the headers,
 * so nothing that could forge a log line or split a header is taken. */
const INCOMING_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** Fastify's `genReqId`: the caller's X-Request-Id when it is plain, else a fresh UUID. */
export function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const incoming = request.headers[REQUEST_ID_HEADER];
  return typeof incoming === "string" && INCOMING_ID.test(incoming) ? incoming : randomUUID();
}

/** Hashed Vite output (`/assets/name-HASH.ext`) never changes under its name: cache it for a
 * year; everything else the UI serves is revalidated. */
export function uiCacheControl(path: string): string {
  return /[/\\]assets[/\\][^/\\]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(path)
    ? "public, max-age=31536000, immutable"
    : "no-cache";
}

/** gzip and brotli for JSON, text and the UI's assets above 1 KiB (the plugin's brotli quality
 * is 4, not zlib's 11, which costs tens of milliseconds per dynamic answer). */
export async function registerCompression(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCompress, {
    global: true,
    threshold: 1024,
    encodings: ["br", "gzip"],
    // Request bodies stay as sent: the webhook's signature is over the exact bytes.
    globalDecompression: false,
  });
}

/** Route patterns → methods, to tell "no such path" (404) from "no such method here" (405). */
export class RouteMethods {
  readonly #patterns = new Map<string, { regex: RegExp; methods: Set<string> }>();

  add(url: string, methods: readonly string[]): void {
    let entry = this.#patterns.get(url);
    if (!entry) {
      entry = { regex: patternRegex(url), methods: new Set() };
      this.#patterns.set(url, entry);
    }
    for (const m of methods) entry.methods.add(m);
  }

  /** The methods a concrete path answers (HEAD with GET, OPTIONS always), or none when unknown. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { regex, methods: ms } of this.#patterns.values()) {
      if (regex.test(path)) for (const m of ms) methods.add(m);
    }
    if (methods.size === 0) return [];
    if (methods.has("GET")) methods.add("HEAD");
    methods.add("OPTIONS");
    return [...methods].sort();
  }
}

function patternRegex(url: string): RegExp {
  const parts = url.split("/").map((segment) => {
    if (segment === "*") return ".*";
    if (segment.startsWith(":")) return "[^/]+";
    return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  });
  return new RegExp(`^${parts.join("/")}/?$`);
}

export function pathOf(request: FastifyRequest): string {
  return request.url.split("?")[0] ?? "";
}
