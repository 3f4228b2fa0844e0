import { isIP } from "node:net";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { RuntimeError } from "../runtime/errors.ts";

/**
 * Whether a URL points at this host: 127.0.0.0/8, ::1 (also as IPv4-mapped ::ffff:127.x), or `localhost`.
 * Judged on the literal host only, never by resolving a name: a name that resolves to loopback
 * today could resolve elsewhere tomorrow (DNS rebinding).
 */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.split(".")[0] === "127";
  if (isIP(host) === 6) {
    if (host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
    const mapped = host.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped?.[1]) return mapped[1].split(".")[0] === "127";
    // The URL parser rewrites ::ffff:127.0.0.1 to ::ffff:7f00:1.
    const hex = host.match(/^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/);
    if (hex?.[1]) return Number.parseInt(hex[1], 16) >> 8 === 127;
  }
  return false;
}

/** Refuses what the Node will not dial: non-HTTP schemes, and (unless allowed) anything off this host. */
export function checkRemoteUrl(raw: string, allowRemote: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RuntimeError("remote_refused", `MCP server URL ${JSON.stringify(raw)} is not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new RuntimeError("remote_refused", `MCP server URL ${JSON.stringify(raw)} must be http or https`);
  }
  if (!allowRemote && !isLoopbackUrl(url)) {
    throw new RuntimeError(
      "remote_refused",
      `MCP server URL ${JSON.stringify(raw)} is not on this host; only loopback URLs (127.0.0.0/8, ::1, localhost) are allowed unless the Node allows remote MCP servers`,
    );
  }
  return url;
}

/**
 * What a transport error may tell the Core (and so a viewer of the server's status or a run's
 * transcript): the HTTP status, never the body. The SDK puts the server's answer text into its
 * message ("Error POSTing to endpoint: <body>"), and a loopback service's error page can hold
 * anything: stack traces, configuration, tokens (issue 21.10).
 */
export function transportErrorText(error: unknown): string {
  if (error instanceof StreamableHTTPError || error instanceof SseError) {
    const status = error.code;
    if (typeof status === "number" && status >= 100 && status <= 599) return `the server answered HTTP ${status}`;
    if (error instanceof StreamableHTTPError && error.message.includes("Unexpected content type"))
      return "the server answered with an unexpected content type";
    return error instanceof SseError ? "the SSE stream failed" : "the HTTP transport failed";
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Connects `makeClient()` to a pass-through server: Streamable HTTP first, then the legacy
 * HTTP+SSE transport, as the SDK's backwards-compatibility guide does. A fresh Client is used for
 * the fallback because a Client that failed to connect has already closed its transport.
 */
export async function connectRemote(
  url: URL,
  makeClient: () => Client,
  timeoutMs: number,
): Promise<{ client: Client; transport: Transport; kind: "streamable-http" | "sse" }> {
  const first = makeClient();
  const streamable = new StreamableHTTPClientTransport(url);
  try {
    await first.connect(streamable, { timeout: timeoutMs });
    return { client: first, transport: streamable, kind: "streamable-http" };
  } catch (streamableError) {
    await first.close().catch(() => {});
    const second = makeClient();
    const sse = new SSEClientTransport(url);
    try {
      await second.connect(sse, { timeout: timeoutMs });
      return { client: second, transport: sse, kind: "sse" };
    } catch (sseError) {
      await second.close().catch(() => {});
      throw new RuntimeError(
        "connect_failed",
        `MCP server at ${url.href} did not answer: Streamable HTTP: ${transportErrorText(streamableError)}; SSE: ${transportErrorText(sseError)}`,
        { cause: sseError },
      );
    }
  }
}
