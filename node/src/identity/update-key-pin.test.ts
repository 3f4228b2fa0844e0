import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.ts";
import { IDENTITY_FILE, KEY_FILE, NodeIdentity, NodeIdentityError } from "./node-identity.ts";
import { decideUpdateKey } from "./update-key-pin.ts";

const KEY_A = "A".repeat(43);
const KEY_B = "B".repeat(43);
const CERT = "AB:CD:EF";
const HTTPS = "https://core.example.com:8443";

describe("decideUpdateKey", () => {
  it("pins a first key only over a channel that proves the enrolled Core", () => {
    expect(decideUpdateKey(undefined, KEY_A, { coreUrl: HTTPS, certificatePinned: true })).toEqual({ action: "pin" });
    expect(decideUpdateKey(undefined, KEY_A, { coreUrl: "http://127.0.0.1:8080", certificatePinned: false })).toEqual({
      action: "pin",
    });
    expect(decideUpdateKey(undefined, KEY_A, { coreUrl: "http://[::1]:8080", certificatePinned: false })).toEqual({
      action: "pin",
    });
    for (const channel of [
      { coreUrl: HTTPS, certificatePinned: false },
      { coreUrl: "http://10.0.0.5:8080", certificatePinned: false },
      undefined,
    ]) {
      expect(decideUpdateKey(undefined, KEY_A, channel)).toEqual({ action: "refuse", reason: "unverified_channel" });
    }
  });

  it("never replaces a pinned key; the same key or none is nothing to do", () => {
    const pinned = { coreUrl: HTTPS, certificatePinned: true };
    expect(decideUpdateKey(KEY_A, KEY_B, pinned)).toEqual({ action: "refuse", reason: "different_key" });
    expect(decideUpdateKey(KEY_A, KEY_A, pinned)).toEqual({ action: "none" });
    expect(decideUpdateKey(KEY_A, undefined, pinned)).toEqual({ action: "none" });
    expect(decideUpdateKey(undefined, undefined, pinned)).toEqual({ action: "none" });
  });
});

/** A data dir as a Node enrolled before the release key existed leaves it: a key, identity.json without updateKey. */
function enrolledDir(extra: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "update-key-pin-"));
  const key = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, KEY_FILE), key, { mode: 0o600 });
  const stored = {
    version: 1,
    nodeId: "n1",
    name: "old-node",
    coreOrigins: [HTTPS],
    tlsFingerprints: { [HTTPS]: CERT },
    tokenHash: "00",
    enrolledAt: "2026-01-01T00:00:00.000Z",
    ...extra,
  };
  writeFileSync(join(dir, IDENTITY_FILE), JSON.stringify(stored), { mode: 0o600 });
  return dir;
}

async function open(dir: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("debug", (line) => lines.push(JSON.parse(line)));
  const identity = await NodeIdentity.open({ dataDir: dir, coreUrls: [HTTPS], logger });
  return { identity, lines };
}
const stored = (dir: string) => JSON.parse(readFileSync(join(dir, IDENTITY_FILE), "utf8"));

describe("NodeIdentity: the release key from the hello", () => {
  it("no key: pinned from the hello over the pinned certificate, kept in identity.json across restarts", async () => {
    const dir = enrolledDir();
    const { identity, lines } = await open(dir);
    expect(identity.updateKey).toBeUndefined();
    identity.checkConnection(HTTPS, CERT);
    expect(await identity.adoptUpdateKey(KEY_A)).toBe("pinned");
    expect(identity.updateKey).toBe(KEY_A);
    expect(stored(dir).updateKey).toBe(KEY_A);
    expect(lines.map((l) => l.msg)).toContain(
      "pinned the Core's release key on first sight, over the authenticated connection",
    );
    // Everything else of the enrollment is unchanged.
    expect(stored(dir)).toMatchObject({ nodeId: "n1", tlsFingerprints: { [HTTPS]: CERT }, tokenHash: "00" });
    const again = await open(dir);
    expect(again.identity.updateKey).toBe(KEY_A);
  });

  it("a pinned key is never replaced: another key in the hello is refused and logged once", async () => {
    const dir = enrolledDir({ updateKey: KEY_A });
    const { identity, lines } = await open(dir);
    identity.checkConnection(HTTPS, CERT);
    expect(await identity.adoptUpdateKey(KEY_B)).toBe("refused");
    expect(await identity.adoptUpdateKey(KEY_B)).toBe("refused");
    expect(identity.updateKey).toBe(KEY_A);
    expect(stored(dir).updateKey).toBe(KEY_A);
    const refusals = lines.filter((l) =>
      String(l.msg).startsWith("the Core sent a release key other than the pinned one"),
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: "error", pinned: KEY_A, offered: KEY_B });
    expect(await identity.adoptUpdateKey(KEY_A)).toBe("unchanged");
  });

  it("no key and a connection that proves nothing (its certificate not told): not pinned, said why", async () => {
    const dir = enrolledDir();
    const { identity, lines } = await open(dir);
    identity.checkConnection(HTTPS, undefined);
    expect(await identity.adoptUpdateKey(KEY_A)).toBe("refused");
    expect(identity.updateKey).toBeUndefined();
    expect(stored(dir).updateKey).toBeUndefined();
    expect(
      lines.some((l) => l.level === "warn" && String(l.msg).startsWith("not pinning the Core's release key")),
    ).toBe(true);
  });

  it("the WebSocket presenting another certificate than the pinned one is refused", async () => {
    const { identity } = await open(enrolledDir());
    expect(() => identity.checkConnection(HTTPS, "00:11:22")).toThrow(NodeIdentityError);
    // And nothing may be pinned off that refused connection.
    expect(await identity.adoptUpdateKey(KEY_A)).toBe("refused");
  });
});
