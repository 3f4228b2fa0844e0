import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NODE_UPDATE_SIGNATURE_HEADER, type NodeUpdateResultParams, nodeUpdateMessage } from "@fabricore/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Logger } from "../logger.ts";
import { AutoUpdater } from "./auto-updater.ts";

const release = generateKeyPairSync("ed25519");
const stranger = generateKeyPairSync("ed25519");
const updateKey = createPublicKey(release.privateKey).export({ format: "jwk" }).x as string;
const PLATFORM = "linux-x64";
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

/** What the test's server serves as GET /api/nodes/binary/linux-x64, with the Core's headers and
 * its If-None-Match rule (core/src/api/routes/node-binary.ts): a strong ETag of the digest. */
interface Served {
  bytes: Buffer;
  version: string;
  key: KeyObject;
}

describe("AutoUpdater: a refused build is not tried again, a new one is", () => {
  let dir: string;
  let server: Server;
  let served: Served;
  const requests: Array<{ ifNoneMatch: string | undefined; status: number }> = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "auto-updater-"));
    requests.length = 0;
    server = createServer((req, res) => {
      const sha256 = createHash("sha256").update(served.bytes).digest("hex");
      const ifNoneMatch = req.headers["if-none-match"];
      const tags = (ifNoneMatch ?? "").split(",").map((t) => t.trim());
      const headers = {
        etag: `"${sha256}"`,
        "x-fabricore-sha256": sha256,
        "x-fabricore-node-version": served.version,
        [NODE_UPDATE_SIGNATURE_HEADER]: sign(
          null,
          Buffer.from(nodeUpdateMessage(PLATFORM, served.version, sha256)),
          served.key,
        ).toString("base64url"),
      };
      const status = tags.includes(`"${sha256}"`) ? 304 : 200;
      requests.push({ ifNoneMatch, status });
      res.writeHead(status, headers);
      res.end(status === 200 ? served.bytes : undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  function updater(
    outcomes: NodeUpdateResultParams[],
    execs: string[],
    skipSha256: string[] = [],
    startWatchdog: () => void | Promise<void> = () => {},
  ): AutoUpdater {
    const executable = join(dir, "fabricore-node");
    writeFileSync(executable, "version A", { mode: 0o755 });
    return new AutoUpdater({
      coreUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      dataDir: dir,
      executable,
      argv: ["--core", "x"],
      platform: PLATFORM,
      currentVersion: "1.0.0",
      deadlineMs: 60_000,
      updateKey: () => updateKey,
      skipSha256,
      logger: quiet,
      onOutcome: (result) => outcomes.push(result),
      stopNode: async () => {},
      exec: (file) => execs.push(file),
      startWatchdog,
    });
  }

  it("refuses a badly signed build once, answers not_retried without downloading it again, and takes a new build of the same version", async () => {
    const outcomes: NodeUpdateResultParams[] = [];
    const execs: string[] = [];
    const node = updater(outcomes, execs);
    const refused = Buffer.from("build X, signed by a key the Node did not pin");
    served = { bytes: refused, version: "2.0.0", key: stranger.privateKey };
    const refusedSha = createHash("sha256").update(refused).digest("hex");

    await node.consider("2.0.0");
    expect(outcomes.map((o) => [o.outcome, o.code, o.sha256])).toEqual([["refused", "bad_signature", refusedSha]]);

    // The same build again (the next hello, a rollout's offer): not downloaded, not checked, said.
    await node.consider("2.0.0");
    await node.consider("2.0.0");
    expect(outcomes.slice(1).map((o) => [o.outcome, o.code, o.sha256])).toEqual([
      ["refused", "not_retried", refusedSha],
      ["refused", "not_retried", refusedSha],
    ]);
    expect(requests).toEqual([
      { ifNoneMatch: undefined, status: 200 },
      { ifNoneMatch: `"${refusedSha}"`, status: 304 },
      { ifNoneMatch: `"${refusedSha}"`, status: 304 },
    ]);
    expect(execs).toEqual([]);
    expect(readFileSync(join(dir, "fabricore-node"), "utf8")).toBe("version A");

    // The Core now serves a rebuilt 2.0.0, signed by the pinned key: tried at once, no restart.
    served = { bytes: Buffer.from("build Y, signed by the release key"), version: "2.0.0", key: release.privateKey };
    await node.consider("2.0.0");
    expect(outcomes).toHaveLength(3);
    expect(requests.at(-1)).toEqual({ ifNoneMatch: `"${refusedSha}"`, status: 200 });
    expect(execs).toEqual([join(dir, "fabricore-node")]);
    expect(readFileSync(join(dir, "fabricore-node"), "utf8")).toBe("build Y, signed by the release key");
    expect(readFileSync(join(dir, "fabricore-node.previous"), "utf8")).toBe("version A");
  });

  it("a refused build and then a newer version: the newer one is tried", async () => {
    const outcomes: NodeUpdateResultParams[] = [];
    const execs: string[] = [];
    const node = updater(outcomes, execs);
    served = { bytes: Buffer.from("2.0.0, signed by a stranger"), version: "2.0.0", key: stranger.privateKey };
    await node.consider("2.0.0");
    expect(outcomes.map((o) => o.code)).toEqual(["bad_signature"]);

    served = { bytes: Buffer.from("2.0.1, signed by the release key"), version: "2.0.1", key: release.privateKey };
    await node.consider("2.0.1");
    expect(outcomes).toHaveLength(1);
    expect(execs).toHaveLength(1);
    expect(readFileSync(join(dir, "fabricore-node"), "utf8")).toBe("2.0.1, signed by the release key");
  });

  it("a build rolled back before (skipSha256) is not downloaded", async () => {
    const bytes = Buffer.from("a build that was rolled back");
    served = { bytes, version: "2.0.0", key: release.privateKey };
    const sha = createHash("sha256").update(bytes).digest("hex");
    const outcomes: NodeUpdateResultParams[] = [];
    const execs: string[] = [];
    const node = updater(outcomes, execs, [sha]);
    await node.consider("2.0.0");
    expect(requests).toEqual([{ ifNoneMatch: `"${sha}"`, status: 304 }]);
    expect(outcomes.map((o) => [o.code, o.sha256])).toEqual([["not_retried", sha]]);
    expect(execs).toEqual([]);
  });

  it("a watchdog that does not come up: no exec, the running file put back, the marker gone, reported failed", async () => {
    served = { bytes: Buffer.from("a good build"), version: "2.0.0", key: release.privateKey };
    const outcomes: NodeUpdateResultParams[] = [];
    const execs: string[] = [];
    const node = updater(outcomes, execs, [], async () => {
      throw new Error("the update watchdog did not start (not ready in time)");
    });
    await node.consider("2.0.0");
    expect(execs).toEqual([]);
    expect(readFileSync(join(dir, "fabricore-node"), "utf8")).toBe("version A");
    expect(existsSync(join(dir, "update.json"))).toBe(false);
    expect(outcomes.map((o) => [o.outcome, o.code, o.reason])).toEqual([
      ["failed", "update_failed", "the update watchdog did not start (not ready in time)"],
    ]);
  });
});
