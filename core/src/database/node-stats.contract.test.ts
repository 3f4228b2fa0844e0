import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import { SecretBox } from "../secrets/secret-box.ts";
import { hashToken } from "../secrets/tokens.ts";
import { createRepositories } from "./repos/index.ts";
import { describeEachDialect } from "./testing/dialects.ts";

const box = new SecretBox({ current: { version: 1, key: randomBytes(32) } });
const point = (at: string, cpu: number, samples = 1) => ({
  at,
  cpuPercent: cpu,
  memoryPercent: 50.5,
  diskPercent: null,
  load1: 0.25,
  samples,
});

// The Node page's sparklines (issue 22.5) on every dialect: a bucket rewritten in place, read in
// order from a time on, pruned by age, and gone with its Node.
describeEachDialect("node stats history", (get) => {
  it("upserts a bucket, reads from a time on in order, prunes old buckets, cascades with the Node", async () => {
    const r = createRepositories(get().db, box);
    const node = await r.nodes.create({ name: `s-${randomBytes(4).toString("hex")}`, tokenHash: hashToken("fcn_s") });
    await r.nodeStats.upsert(node.id, point("2026-12-07T10:05:00.000Z", 30));
    await r.nodeStats.upsert(node.id, point("2026-12-07T10:00:00.000Z", 10));
    await r.nodeStats.upsert(node.id, point("2026-12-07T10:00:00.000Z", 20, 4));
    expect(await r.nodeStats.history(node.id, "2026-12-07T00:00:00.000Z")).toEqual([
      point("2026-12-07T10:00:00.000Z", 20, 4),
      point("2026-12-07T10:05:00.000Z", 30),
    ]);
    expect(await r.nodeStats.history(node.id, "2026-12-07T10:01:00.000Z")).toHaveLength(1);
    expect(await r.nodeStats.pruneBefore("2026-12-07T10:01:00.000Z")).toBeGreaterThanOrEqual(1);
    expect((await r.nodeStats.history(node.id, "2000-01-01T00:00:00.000Z")).map((p) => p.at)).toEqual([
      "2026-12-07T10:05:00.000Z",
    ]);
    await r.nodes.delete(node.id);
    expect(await r.nodeStats.history(node.id, "2000-01-01T00:00:00.000Z")).toEqual([]);
  });
});
