/**
 * `--allow-image` rules (issue 21.10). The old glob let `*` match any run of characters, so
 * `mcp/filesystem*` also admitted `mcp/filesystem-evil` — another repository, pulled by the Node.
 * A rule is now `name[:tag]` or `name@digest`, matched exactly, with explicit wildcards only:
 *
 * - in the name, `*` stands for ONE whole path component (`mcp/*`, `ghcr.io/acme/*`), never for part
 *   of one: a repository name is the trust boundary, and `filesystem*` cannot say which ones it means;
 * - no tag in the rule: any tag or digest of that name; a tag in the rule may use `*` freely
 *   (`tool:1.*`), since every tag of a repository comes from the same publisher;
 * - names are compared in Docker's normal form, so `mcp/x`, `docker.io/mcp/x` and
 *   `index.docker.io/mcp/x` are one name, and `node` is `docker.io/library/node`.
 */

export interface ImageReference {
  /** Normal form: registry/path, e.g. docker.io/library/node. */
  name: string;
  tag?: string | undefined;
  digest?: string | undefined;
}

export class ImageRuleError extends Error {
  readonly code = "invalid_image_rule";
  constructor(message: string) {
    super(message);
    this.name = "ImageRuleError";
  }
}

/** Docker's reading of a reference: the first component is a registry if it has `.` or `:` or is localhost. */
export function parseImageReference(ref: string): ImageReference {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const rest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = rest.lastIndexOf(":");
  const hasTag = colon > rest.lastIndexOf("/");
  const tag = hasTag ? rest.slice(colon + 1) : undefined;
  const path = hasTag ? rest.slice(0, colon) : rest;
  const parts = path.split("/");
  const first = parts[0] ?? "";
  const isRegistry = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = isRegistry ? first : "docker.io";
  if (registry === "index.docker.io" || registry === "registry-1.docker.io") registry = "docker.io";
  const repo = isRegistry ? parts.slice(1) : parts;
  if (registry === "docker.io" && repo.length === 1) repo.unshift("library");
  return { name: [registry, ...repo].join("/"), tag, digest };
}

export interface ImageRule {
  /** As the operator wrote it, for messages. */
  source: string;
  matches(ref: string): boolean;
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}$`, "s");
}

/** A rule from one `--allow-image` value, or ImageRuleError saying what is wrong with it. */
export function parseImageRule(source: string): ImageRule {
  const rule = parseImageReference(source.trim());
  const components = rule.name.split("/");
  if (components.some((c) => c === ""))
    throw new ImageRuleError(`--allow-image ${JSON.stringify(source)}: empty name component`);
  for (const component of components) {
    if (component.includes("*") && component !== "*") {
      throw new ImageRuleError(
        `--allow-image ${JSON.stringify(source)}: "*" must stand for a whole name component ("mcp/*"), not part of ` +
          `one ("${component}" would also admit other repositories, e.g. ${component.replaceAll("*", "")}-evil); ` +
          "name the images, or the namespace with /*",
      );
    }
  }
  if (rule.digest?.includes("*"))
    throw new ImageRuleError(`--allow-image ${JSON.stringify(source)}: a digest is exact, no "*"`);
  const tag = rule.tag === undefined ? undefined : globToRegExp(rule.tag);
  return {
    source,
    matches(ref: string): boolean {
      const image = parseImageReference(ref);
      const names = image.name.split("/");
      if (names.length !== components.length) return false;
      if (!components.every((c, i) => c === "*" || c === names[i])) return false;
      if (rule.digest !== undefined) return image.digest === rule.digest;
      // A tagged rule admits that tag only; `name@digest` has no tag to check, so it is not admitted.
      // An untagged reference is pulled as :latest, so that is the tag it is checked as.
      const imageTag = image.tag ?? (image.digest === undefined ? "latest" : undefined);
      if (tag !== undefined) return imageTag !== undefined && tag.test(imageTag);
      return true;
    },
  };
}

/** Does `image` match one of the rules? (None given: any image.) */
export function imageAllowedBy(image: string, rules: readonly ImageRule[]): boolean {
  return rules.length === 0 || rules.some((rule) => rule.matches(image));
}
