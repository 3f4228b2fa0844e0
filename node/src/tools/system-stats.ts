import { readFile, statfs } from "node:fs/promises";
import os from "node:os";
import { type SystemStats, SystemStatsArgs, type ToolResult } from "@fabricore/protocol";
import { jsonResult, parseArgs } from "./result.ts";

export interface MountEntry {
  device: string;
  mount: string;
  fsType: string;
}

/** Filesystems that are never a disk: kernel interfaces, memory, container layers, package images.
 * `overlay` is here because below it sits a real disk that is listed on its own, except when it is
 * a container's root, which is always kept. */
const PSEUDO_FS = new Set([
  "proc",
  "sysfs",
  "devtmpfs",
  "devpts",
  "tmpfs",
  "ramfs",
  "rootfs",
  "overlay",
  "aufs",
  "squashfs",
  "cgroup",
  "cgroup2",
  "securityfs",
  "debugfs",
  "tracefs",
  "pstore",
  "bpf",
  "mqueue",
  "hugetlbfs",
  "configfs",
  "fusectl",
  "autofs",
  "binfmt_misc",
  "rpc_pipefs",
  "nsfs",
  "efivarfs",
  "selinuxfs",
  "nfsd",
  "fuse.lxcfs",
  "fuse.snapfuse",
  "fuse.gvfsd-fuse",
  "fuse.portal",
  "devfs",
]);

/** Filesystems kept even when their source is not a /dev block device (pools, network shares). */
const REAL_FS = new Set([
  "ext2",
  "ext3",
  "ext4",
  "xfs",
  "btrfs",
  "zfs",
  "f2fs",
  "bcachefs",
  "jfs",
  "reiserfs",
  "vfat",
  "exfat",
  "ntfs",
  "ntfs3",
  "fuseblk",
  "hfsplus",
  "apfs",
  "ufs",
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "ceph",
  "glusterfs",
  "lustre",
  "9p",
  "virtiofs",
]);

/** statfs on a dead network mount can hang; a disk that does not answer in time is left out. */
const STATFS_TIMEOUT_MS = 2_000;

/** /proc/mounts escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

export function parseProcMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const [device, mount, fsType] = line.trim().split(/\s+/);
    if (!device || !mount || !fsType) continue;
    entries.push({ device: unescapeMountField(device), mount: unescapeMountField(mount), fsType });
  }
  return entries;
}

/** Real disks only, one entry per device (bind mounts and container-injected files like /etc/hosts
 * repeat a device; its shortest mount path names it). */
export function selectRealDisks(mounts: readonly MountEntry[]): MountEntry[] {
  const byDevice = new Map<string, MountEntry>();
  for (const entry of mounts) {
    const real =
      entry.mount === "/" ||
      (!PSEUDO_FS.has(entry.fsType) && (REAL_FS.has(entry.fsType) || entry.device.startsWith("/dev/")));
    if (!real) continue;
    const seen = byDevice.get(entry.device);
    if (!seen || entry.mount.length < seen.mount.length) byDevice.set(entry.device, entry);
  }
  return [...byDevice.values()].sort((a, b) => a.mount.localeCompare(b.mount));
}

export function parseMeminfo(
  text: string,
): { totalBytes: number; freeBytes: number; availableBytes: number } | undefined {
  const kib = (key: string): number | undefined => {
    const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, "m").exec(text);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  };
  const total = kib("MemTotal");
  const free = kib("MemFree");
  if (total === undefined || free === undefined) return undefined;
  // MemAvailable (Linux 3.14+) counts reclaimable cache; without it, free is the honest floor.
  return { totalBytes: total, freeBytes: free, availableBytes: kib("MemAvailable") ?? free };
}

/** CPU busy percentage between two calls of `sample()`, from the kernel's cumulative per-CPU times. */
export class CpuSampler {
  private previous: { idle: number; total: number } | undefined;

  /** Percentage since the previous call; undefined on the first. */
  sample(): number | undefined {
    let idle = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const t = cpu.times;
      idle += t.idle;
      total += t.user + t.nice + t.sys + t.idle + t.irq;
    }
    const previous = this.previous;
    this.previous = { idle, total };
    if (!previous || total <= previous.total) return undefined;
    const busy = 1 - (idle - previous.idle) / (total - previous.total);
    return Math.round(Math.min(1, Math.max(0, busy)) * 1000) / 10;
  }
}

async function memory(): Promise<SystemStats["memory"]> {
  const fromProc =
    process.platform === "linux" ? parseMeminfo(await readFile("/proc/meminfo", "utf8").catch(() => "")) : undefined;
  const totalBytes = fromProc?.totalBytes ?? os.totalmem();
  const freeBytes = fromProc?.freeBytes ?? os.freemem();
  const availableBytes = fromProc?.availableBytes ?? os.freemem();
  return { totalBytes, freeBytes, availableBytes, usedBytes: totalBytes - availableBytes };
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Mounts whose statfs has not answered yet (a hung NFS server): not asked again until it does, so
 * a hung mount holds one libuv thread, not one more per heartbeat. */
const pendingStatfs = new Set<string>();

function statfsOnce(mount: string) {
  if (pendingStatfs.has(mount)) return Promise.resolve(undefined);
  pendingStatfs.add(mount);
  return statfs(mount)
    .catch(() => undefined)
    .finally(() => pendingStatfs.delete(mount));
}

async function disks(): Promise<SystemStats["disks"]> {
  const mountsText = process.platform === "linux" ? await readFile("/proc/mounts", "utf8").catch(() => "") : "";
  const entries = mountsText ? selectRealDisks(parseProcMounts(mountsText)) : [{ device: "", mount: "/", fsType: "" }];
  const measured = await Promise.all(
    entries.map(async (entry) => {
      const fs = await withTimeout(statfsOnce(entry.mount), STATFS_TIMEOUT_MS);
      if (!fs || fs.blocks === 0) return undefined;
      const sizeBytes = fs.blocks * fs.bsize;
      const usedBytes = (fs.blocks - fs.bfree) * fs.bsize;
      const availableBytes = fs.bavail * fs.bsize;
      // df's definition: blocks reserved for root count as neither used nor available to users.
      const usedPercent = usedBytes + availableBytes === 0 ? 0 : (usedBytes / (usedBytes + availableBytes)) * 100;
      return {
        mount: entry.mount,
        device: entry.device,
        fsType: entry.fsType,
        sizeBytes,
        usedBytes,
        availableBytes,
        usedPercent: Math.round(usedPercent * 10) / 10,
      };
    }),
  );
  return measured.filter((disk) => disk !== undefined);
}

/** Everything `system_stats` reports. With a fresh sampler the CPU usage is measured over `cpuSampleMs`. */
export async function collectSystemStats(sampler = new CpuSampler(), cpuSampleMs = 100): Promise<SystemStats> {
  let usagePercent = sampler.sample();
  if (usagePercent === undefined) {
    await new Promise((resolve) => setTimeout(resolve, cpuSampleMs));
    usagePercent = sampler.sample();
  }
  const cpus = os.cpus();
  const [load1 = 0, load5 = 0, load15 = 0] = os.loadavg();
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    uptimeSeconds: Math.round(os.uptime()),
    loadAverage: [load1, load5, load15],
    cpu: {
      count: cpus.length,
      model: cpus[0]?.model.trim() ?? "unknown",
      ...(usagePercent !== undefined && { usagePercent }),
    },
    memory: await memory(),
    disks: await disks(),
  };
}

/** Disks go with a heartbeat at most this often (one statfs per real mount; issue 22.5). */
export const HEARTBEAT_DISKS_EVERY_MS = 60_000;
let heartbeatDisks: { at: number; disks: SystemStats["disks"] } | undefined;

/** The cheap part, sent with every heartbeat: CPU usage since the previous beat, memory, and the
 * disks as measured at most once a minute (statfs only, no walk; a hung mount is skipped). */
export async function collectHeartbeatStats(
  sampler: CpuSampler,
  now: () => number = Date.now,
): Promise<Partial<SystemStats>> {
  if (!heartbeatDisks || now() - heartbeatDisks.at >= HEARTBEAT_DISKS_EVERY_MS)
    heartbeatDisks = { at: now(), disks: await disks() };
  const [load1 = 0, load5 = 0, load15 = 0] = os.loadavg();
  const usagePercent = sampler.sample();
  const cpus = os.cpus();
  return {
    uptimeSeconds: Math.round(os.uptime()),
    loadAverage: [load1, load5, load15],
    cpu: {
      count: cpus.length,
      model: cpus[0]?.model.trim() ?? "unknown",
      ...(usagePercent !== undefined && { usagePercent }),
    },
    memory: await memory(),
    disks: heartbeatDisks.disks,
  };
}

export async function systemStatsTool(rawArgs: unknown, sampler?: CpuSampler): Promise<ToolResult> {
  const parsed = parseArgs("system_stats", SystemStatsArgs, rawArgs);
  if (!parsed.ok) return parsed.result;
  return jsonResult(await collectSystemStats(sampler));
}
