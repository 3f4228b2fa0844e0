import { imageAllowedBy, isPathWithin, parseImageRule } from "@fabricore/protocol";
import type { NodeMcpPolicy } from "../api/mcp-ops.ts";
import type { McpMountInput } from "../api/types.ts";

/** A problem the Node would refuse the server for, found before it is sent. */
export interface InstallProblem {
  field: "image" | "mounts" | "network";
  message: string;
}

/** Does this Node's --allow-image list admit `image`? Rules that do not parse admit nothing, as on the Node. */
export function imageAllowedOn(policy: NodeMcpPolicy, image: string): boolean {
  if (policy.allowImages.length === 0) return true;
  const rules = policy.allowImages.flatMap((source) => {
    try {
      return [parseImageRule(source)];
    } catch {
      return [];
    }
  });
  try {
    return imageAllowedBy(image, rules);
  } catch {
    return false;
  }
}

/**
 * What the Node's own checks (node/src/runtime/node-policy.ts, container-bounds.ts) would refuse,
 * from what it announced. The Node still has the last word: symlinks and existence are checked
 * only there, on the real paths.
 */
export function installProblems(
  policy: NodeMcpPolicy,
  request: { image?: string; mounts: McpMountInput[]; network?: "none" | "open" | { allow: string[] } },
): InstallProblem[] {
  const problems: InstallProblem[] = [];
  const image = request.image?.trim();
  if (image && !imageAllowedOn(policy, image)) {
    problems.push({
      field: "image",
      message: `This Node refuses ${image}: it runs only ${policy.allowImages.join(", ")} (--allow-image).`,
    });
  }
  const mounts = request.mounts.filter((m) => m.source.trim());
  const readable = [...policy.mountRoots, ...policy.mountRwRoots];
  for (const mount of mounts) {
    const source = mount.source.trim().replace(/\/+$/, "") || "/";
    if (readable.length === 0) {
      problems.push({ field: "mounts", message: "This Node allows no mounts (start it with --mount-root DIR)." });
      break;
    }
    if (!readable.some((root) => isPathWithin(source, root))) {
      problems.push({
        field: "mounts",
        message: `${source} is outside this Node's mount roots (${readable.join(", ")}).`,
      });
    } else if (mount.readOnly === false && !policy.mountRwRoots.some((root) => isPathWithin(source, root))) {
      problems.push({
        field: "mounts",
        message:
          policy.mountRwRoots.length === 0
            ? `${source} cannot be writable: this Node allows no writable mounts (--mount-rw-root).`
            : `${source} cannot be writable: outside ${policy.mountRwRoots.join(", ")} (--mount-rw-root).`,
      });
    }
  }
  if (request.network === "open" && !policy.allowOpenNetwork) {
    problems.push({
      field: "network",
      message: "This server needs an open network, which this Node does not allow (--allow-open-network).",
    });
  }
  return problems;
}
