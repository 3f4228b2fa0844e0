import { describe, expect, it } from "vitest";
import { generateToken, hashToken, hmacSha256Hex, timingSafeEqualHex, verifyGithubSignature } from "./tokens.ts";

describe("tokens", () => {
  it("generates prefixed 256-bit base64url tokens", () => {
    const t = generateToken("fcn_");
    expect(t).toMatch(/^fcn_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t.slice(4), "base64url").length).toBe(32);
    expect(generateToken("fct_")).toMatch(/^fct_/);
    expect(generateToken("fcn_")).not.toBe(t);
  });

  it("hashes with SHA-256 hex", () => {
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares hex in constant time, false on length or format mismatch", () => {
    expect(timingSafeEqualHex("abcd", "ABCD")).toBe(true);
    expect(timingSafeEqualHex("abcd", "abce")).toBe(false);
    expect(timingSafeEqualHex("abcd", "abcdef")).toBe(false);
    expect(timingSafeEqualHex("zz", "zz")).toBe(false);
    expect(timingSafeEqualHex("abc", "abc")).toBe(false);
  });
});

describe("verifyGithubSignature", () => {
  // GitHub's documented test vector (docs: "Validating webhook deliveries").
  const secret = "It's a Secret to Everybody";
  const body = "Hello, World!";
  const header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  it("accepts GitHub's documented example", () => {
    expect(hmacSha256Hex(secret, body)).toBe(header.slice(7));
    expect(verifyGithubSignature(secret, body, header)).toBe(true);
    expect(verifyGithubSignature(secret, Buffer.from(body), header.toUpperCase().replace("SHA256=", "sha256="))).toBe(
      true,
    );
  });

  it("rejects a wrong secret, a changed body, a missing or malformed header", () => {
    expect(verifyGithubSignature("other", body, header)).toBe(false);
    expect(verifyGithubSignature(secret, `${body} `, header)).toBe(false);
    expect(verifyGithubSignature(secret, body, undefined)).toBe(false);
    expect(verifyGithubSignature(secret, body, "")).toBe(false);
    expect(verifyGithubSignature(secret, body, header.slice(7))).toBe(false);
    expect(verifyGithubSignature(secret, body, `sha1=${header.slice(7)}`)).toBe(false);
    expect(verifyGithubSignature(secret, body, header.slice(0, -2))).toBe(false);
  });
});
