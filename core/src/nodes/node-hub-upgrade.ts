import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { NODE_AUTH_HEADERS } from "@fabricore/protocol";
import type { NodeCredentials } from "./node-hub-types.ts";

/* The HTTP side of a Node's WebSocket upgrade, before any frame: what it presented, the origin it
 * dialled, and the plain-HTTP refusal. */

/** One listener for every socket rather than a closure each (it stays attached for the connection's life). */
export function ignoreError(): void {}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" && value !== "" ? value : undefined;
}

export const trustNobody = () => false;

/**
 * The origin the Node dialled, as this Core sees it: scheme and host of the request, or, when the
 * peer is a trusted proxy (FABRICORE_TRUST_PROXY, the same rule as the API's client IP), that
 * proxy's X-Forwarded-Proto/-Host. The Node signs the origin it dialled, so the two agree exactly
 * when the Node is talking to this Core. A client that is not a trusted proxy cannot pick the
 * origin (issue 15.4: an upgrade signed for http://evil.example was accepted through
 * X-Forwarded-Host).
 */
export function requestOrigin(request: IncomingMessage, trustProxy: (address: string) => boolean): string {
  const peer = request.socket.remoteAddress;
  const forwarded = peer !== undefined && trustProxy(peer);
  const encrypted = (request.socket as { encrypted?: boolean }).encrypted ? "https" : "http";
  const proto = (forwarded ? header(request, "x-forwarded-proto")?.split(",")[0]?.trim() : undefined) ?? encrypted;
  const host =
    (forwarded ? header(request, "x-forwarded-host")?.split(",")[0]?.trim() : undefined) ??
    header(request, "host") ??
    "";
  try {
    return new URL(`${proto}://${host}`).origin;
  } catch {
    return `${proto}://${host}`;
  }
}

export function credentialsOf(
  request: IncomingMessage,
  trustProxy: (address: string) => boolean,
): NodeCredentials | undefined {
  const nodeId = header(request, NODE_AUTH_HEADERS.nodeId);
  const nonce = header(request, NODE_AUTH_HEADERS.nonce);
  const signature = header(request, NODE_AUTH_HEADERS.signature);
  if (nodeId && nonce && signature) {
    return { kind: "signed", nodeId, nonce, signature, origin: requestOrigin(request, trustProxy) };
  }
  const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
  return token ? { kind: "bearer", token } : undefined;
}

export function nodeIdOf(credentials: NodeCredentials | undefined): string | undefined {
  return credentials?.kind === "signed" ? credentials.nodeId.slice(0, 64) : undefined;
}

const STATUS_TEXT: Record<number, string> = { 401: "Unauthorized", 503: "Service Unavailable" };

/** Answers an upgrade request with a plain HTTP error in the API's error shape, then closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
