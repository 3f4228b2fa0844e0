import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { EgressRule, NODE_CONNECT_PATH, parseImageRule } from "@fabricore/protocol";
import { z } from "zod";
import { connectUrl } from "./comms/ws-client-transport.ts";
import { LOG_LEVELS } from "./logger.ts";
import { DEFAULT_BOUNDS } from "./runtime/container-bounds.ts";

/**
 * Every Node setting, from flags or the environment (CONTRACT "Node settings"); a flag wins over its
 * variable. Parsed once at start; a bad value stops the Node with every problem listed.
 */
const CoreUrl = z.url({
  protocol: /^https?$/,
  error: "must be the Core's http(s)://host:port, e.g. http://core.example:8080",
});

export const NodeSettings = z.object({
  /** Several in cluster mode (one per Core replica); the Node fails over between them. */
  coreUrls: z
    .array(CoreUrl, {
      error: "required: --core URL or FABRICORE_CORE_URL (the Core's http(s)://host:port)",
    })
    .min(1, "required: --core URL or FABRICORE_CORE_URL (the Core's http(s)://host:port)"),
  /** Needed to enroll (first start) and to re-enroll (a rotated token); afterwards the Node proves
   * itself with its own key, so a leftover token in a unit file is harmless (it is spent). */
  token: z
    .string()
    .regex(/^fcn_\S+$/, "must be the node's enrollment token (it starts with fcn_)")
    .optional(),
  readRoots: z.array(z.string().refine(isAbsolute, "must be an absolute directory")),
  allowExec: z.boolean(),
  /** exec_command through /bin/sh (--allow-shell; implies allowExec). Without it commands run as argv,
   * no shell. Never with execAllow: a pattern cannot bound what a shell runs. */
  allowShell: z.boolean(),
  dockerSocket: z.string().min(1),
  dataDir: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS),
  /** Plain http:// (ws://) to a Core that is not on loopback is refused without it. */
  insecure: z.boolean(),
  /** A private CA's PEM file, trusted for the Core's certificate. */
  caFile: z.string().optional(),
  /** MCP mounts only below these (read-only); none given: every mount is refused. */
  mountRoots: z.array(z.string().refine(isAbsolute, "must be an absolute directory")),
  /** Writable MCP mounts only below these (which are mount roots too). */
  mountRwRoots: z.array(z.string().refine(isAbsolute, "must be an absolute directory")),
  /** MCP images allowed: `name[:tag]` rules, `*` only as a whole name component or in the tag
   * (protocol/src/image-rule.ts); none given: any image. */
  allowImages: z.array(z.string().min(1)),
  /** exec_command runs only commands whose argv matches one of these in full (tools/exec-allowlist.ts);
   * none given: any program. */
  execAllow: z.array(z.instanceof(RegExp)),
  /** Bounds on managed containers (node/src/runtime/container-bounds.ts); a spec above one is refused. */
  allowRootContainers: z.boolean(),
  maxContainerMemoryBytes: z.number().int().positive(),
  maxContainerNanoCpus: z.number().int().positive(),
  maxContainerPids: z.number().int().positive(),
  allowOpenNetwork: z.boolean(),
  /** Egress rules any server on this Node may be allowed; none given: any name, public IPs only. */
  allowEgress: z.array(EgressRule),
  /** The DNS server (IP or IP:port) egress proxies resolve names with; unset: the host's resolver. */
  egressDns: z
    .string()
    .regex(
      /^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?)$/,
      "must be an IP address, optionally :port",
    )
    .optional(),
  /** Follow the Node version the Core serves (node/src/update/, docs/NODE-LIFECYCLE.md). */
  autoUpdate: z.boolean(),
  /** How long a new version has to reach the Core before it is rolled back. */
  updateDeadlineMs: z.number().int().positive(),
});
export type NodeSettings = z.infer<typeof NodeSettings> & {
  /** The first Core URL (the only one outside cluster mode). */
  coreUrl: string;
  /** ws(s)://…/api/nodes/connect, derived from coreUrl. */
  connectUrl: string;
  /** The Node endpoint of every Core URL, in order. */
  connectUrls: string[];
};

export type CommandLine = { kind: "help" } | { kind: "version" } | { kind: "run"; settings: NodeSettings };

export class SettingsError extends Error {
  readonly code = "invalid_settings";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid settings:\n${problems.map((p) => `  ${p}`).join("\n")}\nRun with --help for usage.`);
    this.name = "SettingsError";
    this.problems = problems;
  }
}

const OPTIONS = {
  core: { type: "string", multiple: true },
  token: { type: "string" },
  "read-root": { type: "string", multiple: true },
  "allow-exec": { type: "boolean" },
  "allow-shell": { type: "boolean" },
  "docker-socket": { type: "string" },
  "data-dir": { type: "string" },
  "log-level": { type: "string" },
  ca: { type: "string" },
  insecure: { type: "boolean" },
  "mount-root": { type: "string", multiple: true },
  "mount-rw-root": { type: "string", multiple: true },
  "allow-image": { type: "string", multiple: true },
  "exec-allow": { type: "string", multiple: true },
  "allow-root-containers": { type: "boolean" },
  "max-container-memory": { type: "string" },
  "max-container-cpus": { type: "string" },
  "max-container-pids": { type: "string" },
  "allow-open-network": { type: "boolean" },
  "allow-egress": { type: "string", multiple: true },
  "egress-dns": { type: "string" },
  "auto-update": { type: "boolean" },
  "update-deadline": { type: "string" },
  version: { type: "boolean" },
  help: { type: "boolean" },
} as const;

export interface SettingsHost {
  isRoot: boolean;
  homeDir: string;
  /** Is this an existing directory? (Injected so tests need no real paths.) */
  isDirectory: (path: string) => boolean;
}

const realHost = (): SettingsHost => ({
  isRoot: process.getuid?.() === 0,
  homeDir: homedir(),
  isDirectory: (path) => {
    try {
      return statSync(path).isDirectory();
    } catch {
      return false;
    }
  },
});

/** DOCKER_HOST is a URL (`unix:///var/run/docker.sock`, `tcp://host:2375`); the flag is a path. */
function dockerEndpoint(value: string): string {
  return value.startsWith("unix://") ? value.slice("unix://".length) : value;
}

function parseBoolean(value: string, name: string, problems: string[]): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off|)$/i.test(value)) return false;
  problems.push(`${name}: must be 1 or 0, got "${value}"`);
  return false;
}

const SIZE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "512m", "2g", "1073741824": bytes, like Docker's --memory. */
export function parseSize(text: string, name: string, problems: string[]): number {
  const match = text
    .trim()
    .toLowerCase()
    .match(/^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/);
  const bytes = match ? Math.floor(Number(match[1]) * (SIZE_UNITS[match[2] ?? ""] ?? 1)) : 0;
  if (!(bytes >= 4 * 1024 * 1024)) {
    problems.push(`${name}: must be a size of at least 4m (e.g. 512m, 2g), got "${text}"`);
    return 1;
  }
  return bytes;
}

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves this host. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function loadNodeSettings(
  argv: readonly string[] = process.argv.slice(2),
  env: Record<string, string | undefined> = process.env,
  host: SettingsHost = realHost(),
): CommandLine {
  const problems: string[] = [];
  // Non-strict, so that every unknown flag is reported together instead of only the first.
  const { values, positionals, tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = (OPTIONS as Record<string, { type: string }>)[token.name];
    if (!spec) problems.push(`${token.rawName}: unknown flag`);
    else if (
      spec.type === "string" &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith("--")))
    )
      problems.push(`${token.rawName}: needs a value`);
    else if (spec.type === "boolean" && token.value !== undefined) problems.push(`${token.rawName}: takes no value`);
  }
  for (const positional of positionals) problems.push(`unexpected argument "${positional}"`);
  if (values.help === true) return { kind: "help" };
  if (values.version === true) return { kind: "version" };

  const str = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const envValue = (name: string) => (env[name] === "" ? undefined : env[name]);

  const flagRoots = Array.isArray(values["read-root"]) ? values["read-root"].filter((v) => typeof v === "string") : [];
  const rawRoots = flagRoots.length > 0 ? flagRoots : (envValue("FABRICORE_READ_ROOTS") ?? "").split(":");
  const readRoots = [...new Set(rawRoots.filter((root) => root !== "").map((root) => resolve(root)))];
  for (const root of readRoots) {
    if (!host.isDirectory(root)) problems.push(`read root ${root}: not an existing directory`);
  }

  const allowShell =
    values["allow-shell"] === true ||
    parseBoolean(envValue("FABRICORE_ALLOW_SHELL") ?? "", "FABRICORE_ALLOW_SHELL", problems);
  const allowExec =
    allowShell ||
    values["allow-exec"] === true ||
    parseBoolean(envValue("FABRICORE_ALLOW_EXEC") ?? "", "FABRICORE_ALLOW_EXEC", problems);
  const docker = str(values["docker-socket"]) ?? envValue("DOCKER_HOST") ?? "/var/run/docker.sock";
  const dataDir =
    str(values["data-dir"]) ??
    envValue("FABRICORE_NODE_DATA_DIR") ??
    (host.isRoot ? "/var/lib/fabricore-node" : join(host.homeDir, ".fabricore-node"));

  const list = (name: keyof typeof OPTIONS) => {
    const value = values[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : [];
  };
  const dirs = (flag: "mount-root" | "mount-rw-root", variable: string) => {
    const raw = list(flag).length > 0 ? list(flag) : (envValue(variable) ?? "").split(":");
    const out = [...new Set(raw.filter((root) => root !== "").map((root) => resolve(root)))];
    for (const dir of out) if (!host.isDirectory(dir)) problems.push(`--${flag} ${dir}: not an existing directory`);
    return out;
  };
  const mountRwRoots = dirs("mount-rw-root", "FABRICORE_MOUNT_RW_ROOTS");
  const mountRoots = [...new Set([...dirs("mount-root", "FABRICORE_MOUNT_ROOTS"), ...mountRwRoots])];
  const allowImages =
    list("allow-image").length > 0
      ? list("allow-image")
      : (envValue("FABRICORE_ALLOW_IMAGES") ?? "")
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== "");
  for (const rule of allowImages) {
    try {
      parseImageRule(rule);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  const execAllow: RegExp[] = [];
  const rawExecAllow =
    list("exec-allow").length > 0
      ? list("exec-allow")
      : (envValue("FABRICORE_EXEC_ALLOW") ?? "").split("\n").filter((p) => p.trim() !== "");
  for (const pattern of rawExecAllow) {
    try {
      // Anchored: a pattern names whole commands, so `df -h` does not also admit `df -h; rm -rf /`.
      execAllow.push(new RegExp(`^(?:${pattern})$`, "s"));
    } catch (error) {
      problems.push(`--exec-allow ${JSON.stringify(pattern)}: not a regular expression (${(error as Error).message})`);
    }
  }
  if (allowShell && execAllow.length > 0) {
    problems.push(
      "--allow-shell with --exec-allow: a pattern cannot bound what a shell runs (`ls x; anything`); " +
        "use --exec-allow alone (commands run as argv, no shell) or --allow-shell alone",
    );
  }
  const flagOrEnv = (flag: keyof typeof OPTIONS, variable: string) => str(values[flag]) ?? envValue(variable);
  const boolFlag = (flag: keyof typeof OPTIONS, variable: string) =>
    values[flag] === true || parseBoolean(envValue(variable) ?? "", variable, problems);
  const memoryText = flagOrEnv("max-container-memory", "FABRICORE_MAX_CONTAINER_MEMORY");
  const maxContainerMemoryBytes =
    memoryText === undefined
      ? DEFAULT_BOUNDS.maxMemoryBytes
      : parseSize(memoryText, "--max-container-memory", problems);
  const cpusText = flagOrEnv("max-container-cpus", "FABRICORE_MAX_CONTAINER_CPUS");
  let maxContainerNanoCpus = DEFAULT_BOUNDS.maxNanoCpus;
  if (cpusText !== undefined) {
    const cpus = /^\d+(\.\d+)?$/.test(cpusText) ? Number(cpusText) : Number.NaN;
    if (!(cpus > 0)) problems.push(`--max-container-cpus: must be a positive number, got "${cpusText}"`);
    else maxContainerNanoCpus = Math.round(cpus * 1e9);
  }
  const pidsText = flagOrEnv("max-container-pids", "FABRICORE_MAX_CONTAINER_PIDS");
  let maxContainerPids = DEFAULT_BOUNDS.maxPids;
  if (pidsText !== undefined) {
    if (!/^[1-9]\d{0,8}$/.test(pidsText))
      problems.push(`--max-container-pids: must be a positive integer, got "${pidsText}"`);
    else maxContainerPids = Number(pidsText);
  }
  const allowEgress =
    list("allow-egress").length > 0
      ? list("allow-egress")
      : (envValue("FABRICORE_ALLOW_EGRESS") ?? "")
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== "");
  const deadlineText = flagOrEnv("update-deadline", "FABRICORE_UPDATE_DEADLINE") ?? "120";
  if (!/^[1-9]\d{0,5}$/.test(deadlineText))
    problems.push(`--update-deadline: must be a whole number of seconds, got "${deadlineText}"`);
  const insecure =
    values.insecure === true || parseBoolean(envValue("FABRICORE_INSECURE") ?? "", "FABRICORE_INSECURE", problems);

  const flagCores = Array.isArray(values.core) ? values.core.filter((v) => typeof v === "string" && v !== "") : [];
  const envCores = envValue("FABRICORE_CORE_URL")
    ?.split(",")
    .map((u) => u.trim())
    .filter((u) => u !== "");
  const parsed = NodeSettings.safeParse({
    coreUrls: flagCores.length > 0 ? [...new Set(flagCores)] : envCores && [...new Set(envCores)],
    token: str(values.token) ?? envValue("FABRICORE_NODE_TOKEN"),
    readRoots,
    allowExec,
    allowShell,
    dockerSocket: dockerEndpoint(docker),
    dataDir: resolve(dataDir),
    logLevel: str(values["log-level"]) ?? envValue("FABRICORE_LOG_LEVEL") ?? "info",
    insecure,
    caFile: str(values.ca) ?? envValue("FABRICORE_CA_FILE"),
    mountRoots,
    mountRwRoots,
    allowImages,
    execAllow,
    allowRootContainers: boolFlag("allow-root-containers", "FABRICORE_ALLOW_ROOT_CONTAINERS"),
    maxContainerMemoryBytes,
    maxContainerNanoCpus,
    maxContainerPids,
    allowOpenNetwork: boolFlag("allow-open-network", "FABRICORE_ALLOW_OPEN_NETWORK"),
    allowEgress,
    egressDns: flagOrEnv("egress-dns", "FABRICORE_EGRESS_DNS"),
    autoUpdate: boolFlag("auto-update", "FABRICORE_AUTO_UPDATE"),
    updateDeadlineMs: (Number(deadlineText) || 120) * 1000,
  });
  if (parsed.success && !insecure) {
    for (const url of parsed.data.coreUrls) {
      const { protocol, hostname } = new URL(url);
      if (protocol === "http:" && !isLoopbackHost(hostname)) {
        problems.push(
          `--core ${url}: plain http:// to a Core that is not on this host would send the node's enrollment and ` +
            "every tool result unencrypted; use https:// (with --ca FILE for a private CA), or pass --insecure",
        );
      }
    }
  }
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join(".")}: ${issue.message}`);
  }
  if (problems.length > 0 || !parsed.success) throw new SettingsError(problems);
  const connectUrls = parsed.data.coreUrls.map((url) => connectUrl(url, NODE_CONNECT_PATH));
  return {
    kind: "run",
    settings: { ...parsed.data, coreUrl: parsed.data.coreUrls[0]!, connectUrl: connectUrls[0]!, connectUrls },
  };
}
