import { createPublicKey, verify } from "node:crypto";
import { nodeUpdateMessage } from "@fabricore/protocol";
import type { DownloadedBuild } from "./download-build.ts";

/** Why a downloaded build is not run. */
export class BuildRefused extends Error {
  readonly code: "digest_mismatch" | "bad_signature" | "no_update_key" | "version_mismatch";
  constructor(code: BuildRefused["code"], message: string) {
    super(message);
    this.name = "BuildRefused";
    this.code = code;
  }
}

/**
 * Whether `build` may replace this Node: the bytes match the digest the Core named, the Core named
 * the version it advertised, and the release key pinned at enrollment signed this platform, version
 * and digest. The signature is what makes a compromised download path (a proxy, a mirror, the
 * binary directory) unable to push code: it can change the bytes and the digest, not the signature.
 */
export function verifyBuild(
  build: DownloadedBuild,
  expected: { platform: string; version: string; updateKey: string | undefined },
): void {
  if (expected.updateKey === undefined) {
    throw new BuildRefused(
      "no_update_key",
      "no update key is pinned (this Node enrolled with a Core that gave none): re-enroll it with a new token " +
        "(POST /api/nodes/<id>/rotate) to pin the Core's release key",
    );
  }
  if (build.claimedSha256 === undefined || build.claimedSha256 !== build.sha256) {
    throw new BuildRefused(
      "digest_mismatch",
      `the download's SHA-256 is ${build.sha256}, the Core said ${build.claimedSha256 ?? "nothing"}`,
    );
  }
  if (build.version !== expected.version) {
    throw new BuildRefused(
      "version_mismatch",
      `the Core advertised version ${expected.version} but served ${build.version ?? "no version"}`,
    );
  }
  const signature = build.signature === undefined ? undefined : Buffer.from(build.signature, "base64url");
  let valid = false;
  if (signature?.length === 64) {
    const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: expected.updateKey }, format: "jwk" });
    const message = Buffer.from(nodeUpdateMessage(expected.platform, expected.version, build.sha256), "utf8");
    valid = verify(null, message, key, signature);
  }
  if (!valid) {
    throw new BuildRefused(
      "bad_signature",
      `the build ${build.sha256} (${expected.platform} ${expected.version}) is ${build.signature === undefined ? "not signed" : "not signed by the pinned update key"}`,
    );
  }
}
