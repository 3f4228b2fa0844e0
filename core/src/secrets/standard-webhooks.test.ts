import { createHmac } from "node:crypto";
import { describe, expect, it, vi } from "vitest";

// Counts constant-time comparisons: SECURITY.md claims every HMAC check goes through
// crypto.timingSafeEqual, never `===` on strings.
const calls = vi.hoisted(() => ({ n: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const original = await importOriginal<typeof import("node:crypto")>();
  return {
    ...original,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls.n += 1;
      return original.timingSafeEqual(a, b);
    },
  };
});

const { verifyStandardWebhook, standardWebhookKey } = await import("./standard-webhooks.ts");
const { verifyGithubSignature } = await import("./tokens.ts");

describe("webhook HMACs are compared in constant time (SECURITY.md: Webhooks)", () => {
  it("GitHub signatures: a right and a wrong signature both go through timingSafeEqual", () => {
    const body = Buffer.from('{"a":1}');
    const good = `sha256=${createHmac("sha256", "s").update(body).digest("hex")}`;
    calls.n = 0;
    expect(verifyGithubSignature("s", body, good)).toBe(true);
    expect(verifyGithubSignature("s", body, `sha256=${"0".repeat(64)}`)).toBe(false);
    expect(calls.n).toBe(2);
  });

  it("Standard Webhooks: every candidate signature is compared with timingSafeEqual", () => {
    const body = Buffer.from("{}");
    const ts = "1700000000";
    const key = standardWebhookKey("whsec_c2VjcmV0LWtleS1ieXRlcw==");
    expect(key.toString()).toBe("secret-key-bytes");
    const sig = createHmac("sha256", key).update(`id1.${ts}.{}`).digest("base64");
    const wrong = Buffer.alloc(32, 1).toString("base64");
    calls.n = 0;
    const res = verifyStandardWebhook(
      "whsec_c2VjcmV0LWtleS1ieXRlcw==",
      { id: "id1", timestamp: ts, signature: `v1,${wrong} v1,${sig}` },
      body,
      1700000000,
    );
    expect(res).toEqual({ ok: true });
    expect(calls.n).toBe(2);
  });
});
