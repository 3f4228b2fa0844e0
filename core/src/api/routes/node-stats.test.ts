import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** Issue 22.5: a Node's stats over time, from its own heartbeats (the real Node program's
 * ConnectionManager, every second here) through the recorder and the database to the API. */

let t: TestCore;
let viewer: string;
let nodeId: string;

beforeAll(async () => {
  t = await startTestCore({ env: { FABRICORE_HEARTBEAT_SECONDS: "1" } });
  viewer = await t.userToken("viewer");
  let cpu = 10;
  nodeId = (
    await t.connectNode(
      "graphed",
      {},
      {
        heartbeatStats: async () => ({
          cpu: { count: 2, model: "test", usagePercent: (cpu += 10) },
          loadAverage: [0.5, 0.4, 0.3],
          memory: { totalBytes: 4000, freeBytes: 500, availableBytes: 1000, usedBytes: 3500 },
          disks: [
            {
              mount: "/",
              device: "sda1",
              fsType: "ext4",
              sizeBytes: 100,
              usedBytes: 62,
              availableBytes: 38,
              usedPercent: 62,
            },
          ],
        }),
      },
    )
  ).id;
});

afterAll(async () => {
  await t?.close();
});

describe("GET /api/nodes/:id/stats/history", () => {
  it("has this bucket's point from the Node's first heartbeat, by id or by name", async () => {
    const end = Date.now() + 10_000;
    let body: { bucketSeconds: number; points: Array<Record<string, unknown>> } = { bucketSeconds: 0, points: [] };
    while (body.points.length === 0) {
      if (Date.now() > end) throw new Error("no stats point after 10 s of heartbeats");
      await new Promise((r) => setTimeout(r, 100));
      const res = await t.api(viewer, "GET", `/api/nodes/${nodeId}/stats/history`);
      expect(res.status).toBe(200);
      body = res.body;
    }
    expect(body.bucketSeconds).toBe(300);
    expect(body.points).toHaveLength(1);
    expect(body.points[0]).toMatchObject({ memoryPercent: 75, diskPercent: 62, load1: 0.5, samples: 1 });
    expect(body.points[0]?.cpuPercent).toBeGreaterThanOrEqual(20);
    expect(Date.parse(String(body.points[0]?.at)) % 300_000).toBe(0);
    const byName = await t.api(viewer, "GET", "/api/nodes/graphed/stats/history?hours=1");
    expect(byName.body.points).toHaveLength(1);
  });

  it("404 for an unknown Node; 400 for hours outside 1–24", async () => {
    expect((await t.api(viewer, "GET", "/api/nodes/no-such-node/stats/history")).status).toBe(404);
    for (const hours of ["0", "25", "x"]) {
      const res = await t.api(viewer, "GET", `/api/nodes/${nodeId}/stats/history?hours=${hours}`);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain("hours");
    }
  });
});
