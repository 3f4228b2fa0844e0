import type { IncomingMessage } from "node:http";
import { NODE_AUTH_HEADERS } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { credentialsOf, nodeIdOf, requestOrigin } from "./node-hub-upgrade.ts";

/** The slice of an upgrade request these helpers read. */
function request(headers: Record<string, string>, remoteAddress = "10.0.0.9", encrypted = false): IncomingMessage {
  return { headers, socket: { remoteAddress, encrypted } } as unknown as IncomingMessage;
}

const proxy = (address: string) => address === "10.0.0.9";
const nobody = () => false;

describe("requestOrigin", () => {
  it("is the scheme and Host of the request when the peer is not a trusted proxy", () => {
    const forged = request({ host: "core.example:8080", "x-forwarded-host": "evil.example" });
    expect(requestOrigin(forged, nobody)).toBe("http://core.example:8080");
    expect(requestOrigin(request({ host: "core.example" }, "10.0.0.9", true), nobody)).toBe("https://core.example");
  });

  it("believes X-Forwarded-Proto/-Host (first value) only from a trusted proxy", () => {
    const forwarded = request({
      host: "internal:3000",
      "x-forwarded-proto": "https, http",
      "x-forwarded-host": "fleet.example, internal",
    });
    expect(requestOrigin(forwarded, proxy)).toBe("https://fleet.example");
    expect(requestOrigin(forwarded, nobody)).toBe("http://internal:3000");
  });
});

describe("credentialsOf", () => {
  it("reads the signed handshake's three headers, with the origin the Core sees", () => {
    const signed = request({
      host: "core.example",
      [NODE_AUTH_HEADERS.nodeId]: "node-1",
      [NODE_AUTH_HEADERS.nonce]: "nonce-1",
      [NODE_AUTH_HEADERS.signature]: "sig-1",
      authorization: "Bearer ignored",
    });
    expect(credentialsOf(signed, nobody)).toEqual({
      kind: "signed",
      nodeId: "node-1",
      nonce: "nonce-1",
      signature: "sig-1",
      origin: "http://core.example",
    });
  });

  it("falls back to a bearer token, and to nothing when a header is missing or empty", () => {
    expect(credentialsOf(request({ authorization: "bearer  tok-1 " }), nobody)).toEqual({
      kind: "bearer",
      token: "tok-1",
    });
    const partial = request({ [NODE_AUTH_HEADERS.nodeId]: "node-1", [NODE_AUTH_HEADERS.nonce]: "" });
    expect(credentialsOf(partial, nobody)).toBeUndefined();
  });

  it("logs at most 64 characters of a presented node id", () => {
    const long = { kind: "signed", nodeId: "x".repeat(500), nonce: "n", signature: "s", origin: "o" } as const;
    expect(nodeIdOf(long)).toHaveLength(64);
    expect(nodeIdOf({ kind: "bearer", token: "t" })).toBeUndefined();
  });
});
