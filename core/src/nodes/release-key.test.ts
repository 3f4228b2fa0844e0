import { createPublicKey, verify } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeUpdateMessage } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { ReleaseKey } from "./release-key.ts";

const publicKeyObject = (x: string) => createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });

describe("ReleaseKey", () => {
  it("creates a 0600 key once and reads the same key back", () => {
    const path = join(mkdtempSync(join(tmpdir(), "release-key-")), "sub", "node-release-key.pem");
    const first = ReleaseKey.open(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = ReleaseKey.open(path);
    expect(again.publicKey).toBe(first.publicKey);
    expect(readFileSync(path, "utf8")).toContain("BEGIN PRIVATE KEY");
  });

  it("signs platform, version and digest together", () => {
    const key = ReleaseKey.open(join(mkdtempSync(join(tmpdir(), "release-key-")), "k.pem"));
    const digest = "ab".repeat(32);
    const signature = Buffer.from(key.sign("linux-x64", "1.2.3", digest), "base64url");
    const pub = publicKeyObject(key.publicKey);
    expect(verify(null, Buffer.from(nodeUpdateMessage("linux-x64", "1.2.3", digest)), pub, signature)).toBe(true);
    expect(verify(null, Buffer.from(nodeUpdateMessage("linux-arm64", "1.2.3", digest)), pub, signature)).toBe(false);
    expect(verify(null, Buffer.from(nodeUpdateMessage("linux-x64", "1.2.4", digest)), pub, signature)).toBe(false);
  });

  it("refuses a key file others can read", () => {
    const path = join(mkdtempSync(join(tmpdir(), "release-key-")), "k.pem");
    ReleaseKey.open(path);
    chmodSync(path, 0o644);
    expect(() => ReleaseKey.open(path)).toThrow(/chmod 600/);
  });
});
