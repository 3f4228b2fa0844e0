/*
 * Which host directories an MCP container may see. Pure string logic, so the Core can refuse a
 * request before anything is sent and the Node can run the very same check again after it has
 * resolved symlinks (`realpath`) and checked that the source exists: the Node never trusts the Core
 * alone with its host's file system.
 */

/** The Docker daemon's sockets: a container that can reach them owns the host. */
export const DOCKER_SOCKET_PATHS: readonly string[] = ["/var/run/docker.sock", "/run/docker.sock"];

/**
 * Host paths never mounted, nor anything below them, nor any directory above them (mounting
 * `/var/run` would expose the socket inside it just as well).
 * - `/proc`, `/sys`, `/dev`: kernel interfaces; a container with them can reach devices and tune the host.
 * - `/boot`, `/etc`, `/root`: boot loader, host configuration and credentials, root's home.
 * - `/var/lib/docker`: every container's file system and configuration (including other servers' secrets).
 */
export const FORBIDDEN_HOST_PATHS: readonly string[] = [
  ...DOCKER_SOCKET_PATHS,
  "/proc",
  "/sys",
  "/dev",
  "/boot",
  "/etc",
  "/root",
  "/var/lib/docker",
];

/** Container paths a mount may not cover: the root, and the kernel file systems Docker provides itself. */
const FORBIDDEN_TARGETS: readonly string[] = ["/", "/proc", "/sys", "/dev"];

export interface MountRequest {
  source: string;
  target: string;
  readOnly?: boolean | undefined;
}

export interface MountPolicyOptions {
  /** More host paths refused like the built-in ones, e.g. the Node's own data directory (its token). */
  forbidden?: readonly string[] | undefined;
}

/** Whether `path` is `root` or lies below it. Both must be normalised absolute paths. */
export function isPathWithin(path: string, root: string): boolean {
  if (root === "/") return path.startsWith("/");
  return path === root || path.startsWith(`${root}/`);
}

/**
 * The normalised form of an absolute POSIX path (no `.`, no empty segments, no trailing slash,
 * `..` resolved lexically), or `undefined` when it is not absolute. Used to tell the user what to
 * write instead; the policy itself refuses any path that differs from its normalised form.
 */
export function normalizeAbsolutePath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

// Control characters would let a path smuggle line breaks into logs or Docker's API strings.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Reasons a path is not an acceptable absolute path; empty when it is. */
function pathProblems(label: string, path: string): string[] {
  if (typeof path !== "string" || path.length === 0) return [`${label} is empty`];
  if (CONTROL_CHARS.test(path)) return [`${label} ${JSON.stringify(path)} contains control characters`];
  if (!path.startsWith("/"))
    return [`${label} ${JSON.stringify(path)} is not an absolute path (it must start with "/")`];
  if (path.split("/").includes("..")) return [`${label} ${JSON.stringify(path)} contains ".." segments`];
  const normal = normalizeAbsolutePath(path);
  if (normal !== path)
    return [`${label} ${JSON.stringify(path)} is not normalised; write it as ${JSON.stringify(normal)}`];
  return [];
}

/**
 * Checks one mount request. Returns every reason it is refused, each naming the path; an empty
 * list means it is allowed. Lexical only: the Node calls it again on the `realpath` of the source.
 */
export function checkMount(mount: MountRequest, options: MountPolicyOptions = {}): string[] {
  const reasons: string[] = [];
  const sourceProblems = pathProblems("mount source", mount.source);
  reasons.push(...sourceProblems);
  if (sourceProblems.length === 0) {
    const source = mount.source;
    if (source === "/") reasons.push(`mount source "/" would expose the whole host file system`);
    const forbidden = [...FORBIDDEN_HOST_PATHS, ...(options.forbidden ?? []).map((p) => normalizeAbsolutePath(p))];
    for (const path of forbidden) {
      if (path === undefined || path === "/") continue;
      if (DOCKER_SOCKET_PATHS.includes(path) && isPathWithin(source, path)) {
        reasons.push(
          `mount source ${JSON.stringify(source)} is the Docker socket; a container with it controls the host`,
        );
      } else if (isPathWithin(source, path)) {
        reasons.push(
          `mount source ${JSON.stringify(source)} is ${source === path ? "" : "inside "}${JSON.stringify(path)}, which is never mounted`,
        );
      } else if (source !== "/" && isPathWithin(path, source)) {
        const what = DOCKER_SOCKET_PATHS.includes(path) ? "the Docker socket " : "";
        reasons.push(
          `mount source ${JSON.stringify(source)} contains ${what}${JSON.stringify(path)}, which is never mounted`,
        );
      }
    }
  }
  const targetProblems = pathProblems("mount target", mount.target);
  reasons.push(...targetProblems);
  if (targetProblems.length === 0) {
    for (const path of FORBIDDEN_TARGETS) {
      if (path === "/" ? mount.target === "/" : isPathWithin(mount.target, path)) {
        reasons.push(`mount target ${JSON.stringify(mount.target)} would cover the container's ${path}`);
      }
    }
  }
  return reasons;
}

/** Checks a whole list: every mount on its own, and no two mounts on the same container path. */
export function checkMounts(mounts: readonly MountRequest[], options: MountPolicyOptions = {}): string[] {
  const reasons: string[] = [];
  const targets = new Set<string>();
  for (const mount of mounts) {
    reasons.push(...checkMount(mount, options));
    if (targets.has(mount.target)) reasons.push(`mount target ${JSON.stringify(mount.target)} is used twice`);
    targets.add(mount.target);
  }
  return reasons;
}
