import { statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NODE_CONNECT_PATH } from "@fabricore/protocol";
import { z } from "zod";
import { connectUrl } from "./comms/ws-client-transport.ts";
import { LOG_LEVELS } from "./logger.ts";

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
  token: z
    .string({ error: "required: --token T or FABRICORE_NODE_TOKEN (shown once when the node was created)" })
    .regex(/^fcn_\S+$/, "must be the node's enrollment token (it starts with fcn_)"),
  readRoots: z.array(z.string().refine(isAbsolute, "must be an absolute directory")),
  allowExec: z.boolean(),
  dockerSocket: z.string().min(1),
  dataDir: z.string().min(1),
  logLevel: z.enum(LOG_LEVELS),
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

export const HELP_TEXT = `fabricore-node — connects this server to a FabriCore Core (it dials out; it never listens)

Usage: fabricore-node --core URL --token T [options]

  --core URL            the Core's http(s)://host:port; repeatable:     FABRICORE_CORE_URL (','-separated)
                        Core replicas to fail over between
  --token T             the node's enrollment token (fcn_…)             FABRICORE_NODE_TOKEN
  --read-root DIR       read_file may read below DIR (repeatable);      FABRICORE_READ_ROOTS (':'-separated)
                        none given: read_file refuses
  --allow-exec          offer exec_command (shell commands)             FABRICORE_ALLOW_EXEC=1
  --docker-socket PATH  Docker for managed MCP servers                  DOCKER_HOST (default /var/run/docker.sock)
  --data-dir DIR        local state (default ~/.fabricore-node,         FABRICORE_NODE_DATA_DIR
                        /var/lib/fabricore-node as root)
  --log-level LEVEL     debug, info, warn, error, silent (default info) FABRICORE_LOG_LEVEL
  --version             print the version and exit
  --help                print this help and exit
`;

const OPTIONS = {
  core: { type: "string", multiple: true },
  token: { type: "string" },
  "read-root": { type: "string", multiple: true },
  "allow-exec": { type: "boolean" },
  "docker-socket": { type: "string" },
  "data-dir": { type: "string" },
  "log-level": { type: "string" },
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

  const allowExec =
    values["allow-exec"] === true ||
    parseBoolean(envValue("FABRICORE_ALLOW_EXEC") ?? "", "FABRICORE_ALLOW_EXEC", problems);
  const docker = str(values["docker-socket"]) ?? envValue("DOCKER_HOST") ?? "/var/run/docker.sock";
  const dataDir =
    str(values["data-dir"]) ??
    envValue("FABRICORE_NODE_DATA_DIR") ??
    (host.isRoot ? "/var/lib/fabricore-node" : join(host.homeDir, ".fabricore-node"));

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
    dockerSocket: dockerEndpoint(docker),
    dataDir: resolve(dataDir),
    logLevel: str(values["log-level"]) ?? envValue("FABRICORE_LOG_LEVEL") ?? "info",
  });
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
