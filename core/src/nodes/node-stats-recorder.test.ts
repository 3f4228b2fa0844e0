import type { SystemStats } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import type { NodeStatsPoint } from "../database/repos/index.ts";
import { NodeStatsRecorder, STATS_BUCKET_MS, sampleOf } from "./node-stats-recorder.ts";

const stats = (cpu: number, load: number, disk = 40): Partial<SystemStats> => ({
  cpu: { count: 2, model: "x", usagePercent: cpu },
  loadAverage: [load, 0, 0],
  memory: { totalBytes: 1000, freeBytes: 100, availableBytes: 250, usedBytes: 900 },
  disks: [
    { mount: "/", device: "a", fsType: "ext4", sizeBytes: 1, usedBytes: 1, availableBytes: 0, usedPercent: disk },
    { mount: "/data", device: "b", fsType: "ext4", sizeBytes: 1, usedBytes: 1, availableBytes: 0, usedPercent: 10 },
  ],
});

function recorder() {
  let now = Date.parse("2026-12-07T10:00:00.000Z");
  const writes: Array<{ nodeId: string; point: NodeStatsPoint }> = [];
  const prunes: string[] = [];
  const r = new NodeStatsRecorder({
    repo: {
      upsert: async (nodeId, point) => {
        writes.push({ nodeId, point });
      },
      pruneBefore: async (before) => {
        prunes.push(before);
        return 0;
      },
    },
    onError: (error) => {
      throw error;
    },
    now: () => now,
  });
  return { r, writes, prunes, advance: (ms: number) => (now += ms) };
}

describe("sampleOf", () => {
  it("memory in use is total minus available; disk is the fullest disk", () => {
    expect(sampleOf(stats(12.5, 0.7, 91))).toEqual({
      cpuPercent: 12.5,
      memoryPercent: 75,
      diskPercent: 91,
      load1: 0.7,
    });
    expect(sampleOf({})).toEqual({ cpuPercent: null, memoryPercent: null, diskPercent: null, load1: null });
  });
});

describe("NodeStatsRecorder", () => {
  it("writes a bucket's first sample at once, then its mean at most once a minute, and closes it when the next begins", () => {
    const { r, writes, advance } = recorder();
    r.record("n1", stats(10, 1));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.point).toMatchObject({ at: "2026-12-07T10:00:00.000Z", cpuPercent: 10, load1: 1, samples: 1 });
    advance(10_000);
    r.record("n1", stats(30, 3));
    expect(writes).toHaveLength(1); // within the minute: kept in memory
    advance(50_000);
    r.record("n1", stats(20, 2));
    expect(writes).toHaveLength(2);
    expect(writes[1]?.point).toMatchObject({ cpuPercent: 20, load1: 2, samples: 3 });
    advance(10_000);
    r.record("n1", stats(80, 8));
    expect(writes).toHaveLength(2);
    // The next bucket: the old one's last mean is written, then the new one's first sample.
    advance(STATS_BUCKET_MS);
    r.record("n1", stats(50, 5));
    expect(writes.map((w) => [w.point.at, w.point.cpuPercent, w.point.samples])).toEqual([
      ["2026-12-07T10:00:00.000Z", 10, 1],
      ["2026-12-07T10:00:00.000Z", 20, 3],
      ["2026-12-07T10:00:00.000Z", 35, 4],
      ["2026-12-07T10:05:00.000Z", 50, 1],
    ]);
  });

  it("a Node that goes away has its bucket written; Nodes are kept apart; old rows pruned once an hour", async () => {
    const { r, writes, prunes, advance } = recorder();
    r.record("a", stats(10, 1));
    r.record("b", stats(90, 9));
    advance(5_000);
    r.record("a", stats(30, 1));
    r.forget("a");
    expect(writes.filter((w) => w.nodeId === "a").map((w) => w.point.cpuPercent)).toEqual([10, 20]);
    expect(writes.filter((w) => w.nodeId === "b").map((w) => w.point.cpuPercent)).toEqual([90]);
    expect(prunes).toEqual(["2026-12-06T10:00:00.000Z"]);
    advance(STATS_BUCKET_MS);
    r.record("b", stats(90, 9));
    expect(prunes).toHaveLength(1); // not again within the hour
    advance(3600_000);
    r.record("b", stats(90, 9));
    expect(prunes).toHaveLength(2);
    r.record("b", stats(10, 9));
    await r.flushAll();
    expect(writes.at(-1)?.point).toMatchObject({ cpuPercent: 50, samples: 2 });
  });
});
