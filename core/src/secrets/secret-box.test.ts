import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SecretsError } from "./errors.ts";
import { SecretBox } from "./secret-box.ts";

const key = randomBytes(32);
const box = new SecretBox({ current: { version: 1, key } });

function body(envelope: string): Buffer {
  return Buffer.from(envelope.split(":")[2] ?? "", "base64");
}
function withBody(envelope: string, raw: Buffer): string {
  const [v, version] = envelope.split(":");
  return `${v}:${version}:${raw.toString("base64")}`;
}
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SecretsError ? err.code : `not a SecretsError: ${String(err)}`;
  }
  return undefined;
}

describe("SecretBox", () => {
  it("round-trips text, including empty and non-ASCII, in a v1:<keyVersion>:<base64> envelope", () => {
    for (const text of ["sk-live-123", "", "pässwörd ✓ 🔑", "x".repeat(10_000)]) {
      const sealed = box.seal(text, "providers:abc:api_key");
      expect(sealed).toMatch(/^v1:1:[A-Za-z0-9+/]+=*$/);
      expect(sealed).not.toContain(text || "\u0000");
      expect(box.open(sealed, "providers:abc:api_key")).toBe(text);
      // nonce (12) + ciphertext (same length as the UTF-8 plaintext) + tag (16)
      expect(body(sealed).length).toBe(12 + Buffer.byteLength(text) + 16);
    }
  });

  it("uses a fresh random nonce per value", () => {
    const a = box.seal("same", "secrets:1:value");
    const b = box.seal("same", "secrets:1:value");
    expect(a).not.toBe(b);
    expect(body(a).subarray(0, 12).equals(body(b).subarray(0, 12))).toBe(false);
  });

  it("fails with decrypt_failed when any single bit of nonce, ciphertext or tag flips", () => {
    const sealed = box.seal("top secret", "secrets:1:value");
    const raw = body(sealed);
    for (let byte = 0; byte < raw.length; byte++) {
      const tampered = Buffer.from(raw);
      tampered[byte] = (tampered[byte] ?? 0) ^ (1 << (byte % 8));
      expect(codeOf(() => box.open(withBody(sealed, tampered), "secrets:1:value"))).toBe("decrypt_failed");
    }
  });

  it("binds the value to its row and field through the associated data", () => {
    const sealed = box.seal("k", "providers:row-1:api_key");
    expect(codeOf(() => box.open(sealed, "providers:row-2:api_key"))).toBe("decrypt_failed");
    expect(codeOf(() => box.open(sealed, "jobs:row-1:webhook_secret"))).toBe("decrypt_failed");
    expect(box.open(sealed, "providers:row-1:api_key")).toBe("k");
  });

  it("fails with decrypt_failed under another master key", () => {
    const other = new SecretBox({ current: { version: 1, key: randomBytes(32) } });
    expect(codeOf(() => other.open(box.seal("k", "a"), "a"))).toBe("decrypt_failed");
  });

  it("rejects malformed envelopes and unknown key versions with their own codes", () => {
    expect(codeOf(() => box.open("plaintext", "a"))).toBe("invalid_envelope");
    expect(codeOf(() => box.open("v1:1:", "a"))).toBe("invalid_envelope");
    expect(codeOf(() => box.open("v2:1:AAAA", "a"))).toBe("invalid_envelope");
    expect(codeOf(() => box.open("v1:1:not base64!", "a"))).toBe("invalid_envelope");
    const sealed = box.seal("k", "a");
    expect(codeOf(() => box.open(sealed.replace(/^v1:1:/, "v1:7:"), "a"))).toBe("unknown_key_version");
  });

  it("opens values sealed under a previous key after rotation, and seals with the current one", () => {
    const rotated = new SecretBox({ current: { version: 2, key: randomBytes(32) }, previous: [{ version: 1, key }] });
    expect(rotated.keyVersion).toBe(2);
    expect(rotated.open(box.seal("old", "a"), "a")).toBe("old");
    expect(rotated.seal("new", "a")).toMatch(/^v1:2:/);
  });

  it("refuses keys that are not 32 bytes", () => {
    expect(() => new SecretBox({ current: { version: 1, key: randomBytes(16) } })).toThrow(SecretsError);
    expect(() => new SecretBox({ current: { version: 0, key } })).toThrow(/positive integer/);
  });
});
