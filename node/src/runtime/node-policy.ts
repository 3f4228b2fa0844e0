import { realpath } from "node:fs/promises";
import { isPathWithin, type ManagedMcpSpec, parseImageRule } from "@fabricore/protocol";
import { type ContainerBounds, checkContainerBounds, DEFAULT_BOUNDS } from "./container-bounds.ts";
import type { BindMount } from "./docker-api.ts";
import { RuntimeError } from "./errors.ts";

/**
 * The Node's own limits on managed MCP servers, from its flags. The Core decides what to run; this
 * decides what this host allows, so a compromised Core cannot mount `/` writable or run any image.
 * Like Docker's MCP Gateway's allowed bind paths.
 */
export interface McpPolicy {
  /** Bind mounts only below these (after symlinks are resolved); empty: no mounts at all. */
  mountRoots: readonly string[];
  /** Writable bind mounts only below these. */
  mountRwRoots: readonly string[];
  /** Image rules (`name[:tag]`, `*` a whole name component; protocol/src/image-rule.ts); empty: any image. */
  allowImages: readonly string[];
  /** Root, limits and network (container-bounds.ts); unset: DEFAULT_BOUNDS. */
  bounds?: ContainerBounds | undefined;
}

/** Does `image` match one of the --allow-image rules (protocol/src/image-rule.ts)? An empty list allows any;
 * a rule that does not parse (env.ts refuses those at start) admits nothing. */
export function imageAllowed(image: string, allowImages: readonly string[]): boolean {
  if (allowImages.length === 0) return true;
  return allowImages.some((source) => {
    try {
      return parseImageRule(source).matches(image);
    } catch {
      return false;
    }
  });
}

/**
 * Checks what can be checked before anything is pulled or created: the container's privileges
 * against the Node's bounds (root, limits, network), the image against the allowlist,
 * and environment values that look like command-line options (`-x`, `--flag`): images commonly
 * splice variables into their command line (`server $OPTS`), where such a value becomes a flag.
 */
export function checkSpecPolicy(spec: ManagedMcpSpec, policy: McpPolicy): void {
  checkContainerBounds(spec, policy.bounds ?? DEFAULT_BOUNDS);
  if (!imageAllowed(spec.image, policy.allowImages)) {
    throw new RuntimeError(
      "invalid_spec",
      `image ${JSON.stringify(spec.image)} refused: this Node allows only ${policy.allowImages.map((g) => JSON.stringify(g)).join(", ")} (--allow-image)`,
    );
  }
  const optionLike = Object.entries(spec.env)
    // trimStart: `" --inspect=0.0.0.0:9229"` is an option too once a shell splits `server $OPTS` (15.6).
    .filter(([, value]) => value.trimStart().startsWith("-"))
    .map(([name]) => name);
  if (optionLike.length > 0) {
    throw new RuntimeError(
      "invalid_spec",
      `environment ${optionLike.join(", ")} refused: values starting with "-" (after any leading space) would be read as command-line options`,
    );
  }
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) out.push(await realpath(root).catch(() => root));
  return out;
}

/**
 * Checks resolved bind mounts (real paths, see container-spec.ts resolveMounts) against the Node's
 * mount roots: every mount below a `--mount-root`, every writable one below a `--mount-rw-root`.
 */
export async function checkMountRoots(binds: readonly BindMount[], policy: McpPolicy): Promise<void> {
  if (binds.length === 0) return;
  const readable = await realRoots([...policy.mountRoots, ...policy.mountRwRoots]);
  const writable = await realRoots(policy.mountRwRoots);
  const reasons: string[] = [];
  for (const bind of binds) {
    if (!readable.some((root) => isPathWithin(bind.Source, root))) {
      reasons.push(
        readable.length === 0
          ? `mount source ${JSON.stringify(bind.Source)}: this Node allows no mounts (start it with --mount-root DIR)`
          : `mount source ${JSON.stringify(bind.Source)} is outside this Node's mount roots (${readable.join(", ")}; --mount-root)`,
      );
    } else if (!bind.ReadOnly && !writable.some((root) => isPathWithin(bind.Source, root))) {
      reasons.push(
        `writable mount source ${JSON.stringify(bind.Source)} is outside this Node's writable mount roots` +
          `${writable.length === 0 ? " (none: start it with --mount-rw-root DIR)" : ` (${writable.join(", ")}; --mount-rw-root)`}`,
      );
    }
  }
  if (reasons.length > 0) throw new RuntimeError("mount_refused", `mount refused: ${reasons.join("; ")}`);
}
