import { SystemStats } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import {
  CpuSampler,
  collectHeartbeatStats,
  collectSystemStats,
  HEARTBEAT_DISKS_EVERY_MS,
  parseMeminfo,
  parseProcMounts,
  selectRealDisks,
  systemStatsTool,
} from "./system-stats.ts";

const MOUNTS = `proc /proc proc rw,relatime 0 0
sysfs /sys sysfs rw,relatime 0 0
overlay / overlay rw,relatime,lowerdir=/a 0 0
tmpfs /dev/shm tmpfs rw 0 0
/dev/nvme0n1p2 /data ext4 rw 0 0
/dev/nvme0n1p2 /etc/hosts ext4 rw 0 0
/dev/sda1 /mnt/with\\040space xfs rw 0 0
/dev/loop3 /snap/core/1 squashfs ro 0 0
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0
rpool/data /tank zfs rw 0 0
server:/export /nfs nfs4 rw 0 0
`;

describe("system_stats", () => {
  it("keeps real disks only, deduplicated by device, and the root whatever its type", () => {
    const disks = selectRealDisks(parseProcMounts(MOUNTS));
    expect(disks.map((d) => d.mount)).toEqual(["/", "/data", "/mnt/with space", "/nfs", "/tank"]);
  });

  it("parses /proc/meminfo", () => {
    const mem = parseMeminfo("MemTotal:  1000 kB\nMemFree:  200 kB\nMemAvailable:  600 kB\n");
    expect(mem).toEqual({ totalBytes: 1024_000, freeBytes: 204_800, availableBytes: 614_400 });
    expect(parseMeminfo("garbage")).toBeUndefined();
  });

  it("reports this machine, including the root filesystem", async () => {
    const stats = await collectSystemStats();
    expect(SystemStats.parse(stats)).toEqual(stats);
    expect(stats.disks.some((disk) => disk.mount === "/")).toBe(true);
    const root = stats.disks.find((disk) => disk.mount === "/");
    expect(root?.sizeBytes).toBeGreaterThan(0);
    expect(stats.memory.totalBytes).toBeGreaterThan(0);
    expect(stats.cpu.count).toBeGreaterThan(0);
  });

  it("is a tool result with structured content, and rejects arguments", async () => {
    const result = await systemStatsTool({});
    expect(result.isError).toBe(false);
    expect(result.structuredContent).toHaveProperty("disks");
    const bad = await systemStatsTool({ verbose: true });
    expect(bad.isError).toBe(true);
  });
});

describe("heartbeat stats (issue 22.5: the Node page's disks)", () => {
  it("carry this host's disks, measured at most once a minute", async () => {
    let now = 1_000_000_000;
    const sampler = new CpuSampler();
    const first = await collectHeartbeatStats(sampler, () => now);
    expect(SystemStats.partial().safeParse(first).success).toBe(true);
    expect(first.disks?.length).toBeGreaterThan(0);
    expect(first.disks?.every((d) => d.sizeBytes > 0 && d.usedPercent >= 0)).toBe(true);
    now += 10_000;
    expect((await collectHeartbeatStats(sampler, () => now)).disks).toBe(first.disks); // reused
    now += HEARTBEAT_DISKS_EVERY_MS;
    const later = await collectHeartbeatStats(sampler, () => now);
    expect(later.disks).not.toBe(first.disks);
    expect(later.disks?.map((d) => d.mount)).toEqual(first.disks?.map((d) => d.mount));
  });
});
