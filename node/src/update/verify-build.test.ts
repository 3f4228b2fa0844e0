import { createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { nodeUpdateMessage } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import type { DownloadedBuild } from "./download-build.ts";
import { BuildRefused, verifyBuild } from "./verify-build.ts";

const release = generateKeyPairSync("ed25519");
const updateKey = createPublicKey(release.privateKey).export({ format: "jwk" }).x as string;
const digest = "c0".repeat(32);
const signed = (platform: string, version: string, sha256: string, key = release.privateKey) =>
  sign(null, Buffer.from(nodeUpdateMessage(platform, version, sha256)), key).toString("base64url");

function build(overrides: Partial<DownloadedBuild> = {}): DownloadedBuild {
  return {
    path: "/x",
    sha256: digest,
    size: 1,
    claimedSha256: digest,
    version: "2.0.0",
    signature: signed("linux-x64", "2.0.0", digest),
    ...overrides,
  };
}
const expected = { platform: "linux-x64", version: "2.0.0", updateKey };
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (error) {
    return error instanceof BuildRefused ? error.code : `other: ${String(error)}`;
  }
  return "accepted";
};

describe("verifyBuild", () => {
  it("accepts the build the pinned key signed for this platform, version and digest", () => {
    expect(refusal(() => verifyBuild(build(), expected))).toBe("accepted");
  });

  it("refuses bytes that differ from the named digest", () => {
    expect(refusal(() => verifyBuild(build({ sha256: "d1".repeat(32) }), expected))).toBe("digest_mismatch");
    expect(refusal(() => verifyBuild(build({ claimedSha256: undefined }), expected))).toBe("digest_mismatch");
  });

  it("refuses altered bytes whose digest was recomputed: the signature is over the real one", () => {
    const other = "d1".repeat(32);
    expect(refusal(() => verifyBuild(build({ sha256: other, claimedSha256: other }), expected))).toBe("bad_signature");
  });

  it("refuses another key, another platform, a replayed version, a missing signature", () => {
    const stranger = generateKeyPairSync("ed25519").privateKey;
    expect(
      refusal(() => verifyBuild(build({ signature: signed("linux-x64", "2.0.0", digest, stranger) }), expected)),
    ).toBe("bad_signature");
    expect(refusal(() => verifyBuild(build({ signature: signed("linux-arm64", "2.0.0", digest) }), expected))).toBe(
      "bad_signature",
    );
    const replay = build({ version: "2.0.0", signature: signed("linux-x64", "1.0.0", digest) });
    expect(refusal(() => verifyBuild(replay, expected))).toBe("bad_signature");
    expect(refusal(() => verifyBuild(build({ signature: undefined }), expected))).toBe("bad_signature");
    expect(refusal(() => verifyBuild(build({ signature: "AAAA" }), expected))).toBe("bad_signature");
  });

  it("refuses a version other than the advertised one, and any build without a pinned key", () => {
    expect(refusal(() => verifyBuild(build({ version: "2.0.1" }), expected))).toBe("version_mismatch");
    expect(refusal(() => verifyBuild(build(), { ...expected, updateKey: undefined }))).toBe("no_update_key");
  });
});
