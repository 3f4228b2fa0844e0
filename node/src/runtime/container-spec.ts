import { createHash, randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { checkMount, checkMounts, type ManagedMcpSpec } from "@fabricore/protocol";
import { DEFAULT_BOUNDS } from "./container-bounds.ts";
import { LABELS } from "./container-labels.ts";
import type { BindMount, ContainerCreateSpec } from "./docker-api.ts";
import { RuntimeError } from "./errors.ts";
import { identityOf, type MountIdentity, swappableComponent } from "./mount-identity.ts";
import { checkMountRoots, checkSpecPolicy, type McpPolicy } from "./node-policy.ts";

export { LABELS };

/** Limits when the spec names none: enough for a Node.js or Python MCP server, small enough that a
 * runaway one cannot starve the host (no swap beyond the memory limit). */
export const DEFAULT_LIMITS = {
  memoryBytes: 512 * 1024 * 1024,
  nanoCpus: 1_000_000_000,
  pids: 128,
} as const;

/** `nobody:nogroup`: owns nothing on the host, so a mounted directory is only as open as its "other" bits. */
export const DEFAULT_USER = "65534:65534";

/** The only writable place in the container; the rest of its root file system is read-only. */
export const TMPFS = { "/tmp": "rw,noexec,nosuid,nodev,size=64m" } as const;

/** Bumped when the hardening below changes, so containers started by an older Node are recreated. */
const RUNTIME_REVISION = 1;

export interface ContainerSpecOptions {
  nodeId: string;
  /** Host paths refused on top of protocol's built-in list (the Node's data directory). */
  forbiddenPaths?: readonly string[] | undefined;
  /** The image's own configured user (from inspect); a non-root one is kept when the spec names none. */
  imageUser?: string | undefined;
  /** The Node's own limits (--mount-root, --mount-rw-root, --allow-image); unset: none beyond the mount policy. */
  policy?: McpPolicy | undefined;
  /** For tests: a random container-name suffix. */
  nameSuffix?: string | undefined;
}

export interface BuiltContainerSpec {
  create: ContainerCreateSpec;
  /** Stable digest of everything that shapes the container: the same hash means the same container. */
  hash: string;
  /** What the started container must have at each mount target (verifyMounted, issue 21.6). */
  mountIdentities: MountIdentity[];
}

function isRootUser(user: string): boolean {
  const [name = "", group] = user.split(":");
  return name === "" || name === "0" || name === "root" || group === "0" || group === "root";
}

/** The realpath of each forbidden path that exists, beside the path as given (a symlinked data dir is caught either way). */
async function resolveForbidden(paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>(paths);
  for (const path of paths) {
    try {
      out.add(await realpath(path));
    } catch {
      // A forbidden path that does not exist cannot be mounted through a symlink either.
    }
  }
  return [...out];
}

/**
 * Checks a spec's mounts against the mount policy twice — as written, then after resolving symlinks
 * on this host — and returns the bind mounts on the resolved paths. A symlink `/srv/x -> /etc` is
 * refused here even though the Core, which cannot see this host, accepted `/srv/x`.
 */
export async function resolveMounts(
  mounts: ManagedMcpSpec["mounts"],
  forbiddenPaths: readonly string[] = [],
): Promise<BindMount[]> {
  return (await resolveMountsWithIdentity(mounts, forbiddenPaths)).binds;
}

/** resolveMounts, plus the device and inode of each checked source (verified after start, 21.6). */
export async function resolveMountsWithIdentity(
  mounts: ManagedMcpSpec["mounts"],
  forbiddenPaths: readonly string[] = [],
): Promise<{ binds: BindMount[]; identities: MountIdentity[] }> {
  const lexical = checkMounts(mounts, { forbidden: forbiddenPaths });
  if (lexical.length > 0) throw new RuntimeError("mount_refused", `mount refused: ${lexical.join("; ")}`);
  const forbidden = await resolveForbidden(forbiddenPaths);
  const reasons: string[] = [];
  const binds: BindMount[] = [];
  const identities: MountIdentity[] = [];
  for (const mount of mounts) {
    let real: string;
    let stats: Stats;
    try {
      real = await realpath(mount.source);
      stats = await stat(real);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      reasons.push(
        code === "ENOENT"
          ? `mount source ${JSON.stringify(mount.source)} does not exist on this host`
          : `mount source ${JSON.stringify(mount.source)} cannot be resolved: ${(error as Error).message}`,
      );
      continue;
    }
    const resolved = checkMount({ source: real, target: mount.target }, { forbidden });
    if (resolved.length > 0 && real !== mount.source) {
      reasons.push(
        `mount source ${JSON.stringify(mount.source)} resolves to ${JSON.stringify(real)}: ${resolved.join("; ")}`,
      );
    } else {
      reasons.push(...resolved);
    }
    const swappable = await swappableComponent(real);
    if (swappable) reasons.push(`mount source ${JSON.stringify(mount.source)} could be swapped: ${swappable}`);
    // Read-only unless the request says otherwise in so many words.
    binds.push({ Type: "bind", Source: real, Target: mount.target, ReadOnly: mount.readOnly !== false });
    identities.push(identityOf(real, mount.target, stats));
  }
  if (reasons.length > 0) throw new RuntimeError("mount_refused", `mount refused: ${reasons.join("; ")}`);
  return { binds, identities };
}

/**
 * Everything the Node's own policy can decide before an image is pulled or a container exists: the
 * image allowlist, option-like environment values, and the mounts (symlinks resolved) against the
 * mount roots. A refusal lands in the server's status as a permanent error.
 */
export async function enforcePolicy(
  spec: ManagedMcpSpec,
  policy: McpPolicy,
  forbiddenPaths: readonly string[] = [],
): Promise<void> {
  checkSpecPolicy(spec, policy);
  await checkMountRoots(await resolveMounts(spec.mounts, forbiddenPaths), policy);
}

/** JSON with sorted keys, so the hash does not depend on the order a spec's fields arrived in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The hardened `docker create` body for one managed MCP server: only the mounts asked for
 * (read-only unless asked otherwise), read-only root with a small `/tmp`, every capability dropped,
 * no privilege escalation, no network unless the spec needs it, memory/CPU/pids limits, a non-root
 * user, stdin kept open for MCP's stdio transport, and the labels that let a restarted Node adopt it.
 */
export async function buildContainerSpec(
  spec: ManagedMcpSpec,
  options: ContainerSpecOptions,
): Promise<BuiltContainerSpec> {
  if (options.policy) checkSpecPolicy(spec, options.policy);
  const { binds: mounts, identities } = await resolveMountsWithIdentity(spec.mounts, options.forbiddenPaths);
  if (options.policy) await checkMountRoots(mounts, options.policy);
  const imageUser = options.imageUser ?? "";
  // An explicit user wins; otherwise keep an image's own non-root user (it may own files the server
  // needs), and never fall back to root.
  const user = spec.user ?? (isRootUser(imageUser) ? DEFAULT_USER : undefined);
  // Unset limits take the built-in defaults, never above this Node's bounds (explicit values above
  // them were refused by checkSpecPolicy).
  const bounds = options.policy?.bounds ?? DEFAULT_BOUNDS;
  const memory = spec.limits.memoryBytes ?? Math.min(DEFAULT_LIMITS.memoryBytes, bounds.maxMemoryBytes);
  const hash = createHash("sha256")
    .update(
      canonical({
        revision: RUNTIME_REVISION,
        image: spec.image,
        args: spec.args,
        env: spec.env,
        mounts,
        network: spec.network,
        limits: spec.limits,
        user: user ?? null,
      }),
    )
    .digest("hex")
    .slice(0, 32);
  const suffix = options.nameSuffix ?? randomBytes(3).toString("hex");
  const create: ContainerCreateSpec = {
    // Docker allows one container per name; the suffix lets a replacement start before the old one is gone.
    name: `fabricore-${spec.name}-${suffix}`,
    Image: spec.image,
    Cmd: spec.args,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: {
      [LABELS.managed]: "true",
      [LABELS.node]: options.nodeId,
      [LABELS.server]: spec.name,
      [LABELS.specHash]: hash,
    },
    ...(user !== undefined && { User: user }),
    // MCP's stdio transport: the Node writes requests to stdin and reads replies from stdout.
    // StdinOnce false keeps stdin open when the Node detaches, so a restarted Node can re-attach.
    OpenStdin: true,
    StdinOnce: false,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      Mounts: mounts,
      ReadonlyRootfs: true,
      Tmpfs: { ...TMPFS },
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      // An allow list also runs without a network: its only way out is the egress proxy the Node
      // bridges into the container's loopback (runtime/egress/).
      NetworkMode: spec.network === "open" ? "bridge" : "none",
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: spec.limits.nanoCpus ?? Math.min(DEFAULT_LIMITS.nanoCpus, bounds.maxNanoCpus),
      PidsLimit: spec.limits.pids ?? Math.min(DEFAULT_LIMITS.pids, bounds.maxPids),
      // The Node restarts servers itself (with backoff and status reports); Docker must not race it.
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
      Privileged: false,
    },
  };
  return { create, hash, mountIdentities: identities };
}
