import { checkMounts, ManagedMcpSpec, type McpMount, type McpNetwork } from "@fabricore/protocol";
import { z } from "zod";
import { CoreError } from "../errors.ts";

/*
 * The MCP marketplace behind `GET /api/mcp/presets`: known MCP server images and how a request
 * (mounts, settings, extra args) becomes a full ManagedMcpSpec for the Node. Each preset says
 * everything the UI needs to ask for (which settings, which are secrets, whether mounts are taken)
 * and everything the Node needs to run it (image, network, limits, user). Secrets are resolved by
 * the caller: `resolvePreset` receives decrypted values and places them only into that server's
 * own env or args.
 */

export interface McpPresetSetting {
  name: string;
  description: string;
  /** Taken from a stored secret (the UI offers the secret list, never a text field). */
  secret: boolean;
  required: boolean;
  /** Passed as this environment variable… */
  env?: string;
  /** …or as these arguments, `{value}` replaced by the setting's value. */
  args?: readonly string[];
}

export interface McpPresetMounts {
  min: number;
  max: number;
  /** The arguments each mount adds, `{target}` replaced by its container path. */
  args: readonly string[];
  description: string;
}

export interface McpPreset {
  id: string;
  name: string;
  description: string;
  image: string;
  /** Arguments before any mount or setting arguments. */
  baseArgs: readonly string[];
  /** Fixed environment the server needs to work in FabriCore's hardened container. */
  baseEnv: Readonly<Record<string, string>>;
  mounts: McpPresetMounts;
  settings: readonly McpPresetSetting[];
  /** Whether the server talks to anything outside its container (for the UI's badge). */
  needsNetwork: boolean;
  /** What it may reach: the hosts it needs (through the Node's egress proxy), or "open" for a
   * protocol an HTTP proxy cannot carry (a database wire protocol; needs --allow-open-network). */
  network: McpNetwork;
  limits: { memoryBytes: number; nanoCpus: number; pids: number };
  /** uid:gid the container runs as; numeric since most images have no matching /etc/passwd entry. */
  user: string;
  homepage: string;
}

const MiB = 1024 * 1024;
const NOBODY = "65534:65534";

export const MCP_PRESETS: readonly McpPreset[] = [
  {
    id: "filesystem",
    name: "Filesystem",
    description: "Read (and, on writable mounts, change) files in the directories mounted into the container.",
    image: "mcp/filesystem",
    baseArgs: [],
    baseEnv: {},
    mounts: {
      min: 1,
      max: 16,
      // The server takes its allowed directories as arguments; it refuses every path outside them.
      args: ["{target}"],
      description: "Each mounted directory becomes one allowed directory of the server.",
    },
    settings: [],
    needsNetwork: false,
    network: "none",
    limits: { memoryBytes: 256 * MiB, nanoCpus: 500_000_000, pids: 64 },
    user: NOBODY,
    homepage: "https://github.com/modelcontextprotocol/servers/tree/main/src/filesystem",
  },
  {
    id: "git",
    name: "Git",
    description:
      "Read and search the history of one Git repository (log, diff, show, status); commits only on a writable mount.",
    image: "mcp/git",
    baseArgs: [],
    baseEnv: {
      // The repository belongs to a host user, the server runs as nobody: without this, git refuses
      // it as "dubious ownership". Git reads configuration from these variables (git >= 2.31).
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "safe.directory",
      GIT_CONFIG_VALUE_0: "*",
      // nobody has no home directory; git looks for its global config there.
      HOME: "/tmp",
    },
    mounts: {
      min: 1,
      max: 1,
      // mcp-server-git's CLI: `--repository PATH` (one repository per server).
      args: ["--repository", "{target}"],
      description: "Mount the repository's working tree; it becomes --repository.",
    },
    settings: [],
    needsNetwork: false,
    network: "none",
    limits: { memoryBytes: 256 * MiB, nanoCpus: 500_000_000, pids: 64 },
    user: NOBODY,
    homepage: "https://github.com/modelcontextprotocol/servers/tree/main/src/git",
  },
  {
    id: "postgres",
    name: "PostgreSQL",
    description: "Read-only SQL queries and schema inspection against one PostgreSQL database.",
    image: "mcp/postgres",
    baseArgs: [],
    baseEnv: {},
    mounts: { min: 0, max: 0, args: [], description: "Takes no mounts." },
    settings: [
      {
        name: "connectionString",
        description: "postgresql://user:password@host:5432/database — reachable from the Node's host",
        secret: true,
        required: true,
        // The server takes the database URL as its only argument.
        args: ["{value}"],
      },
    ],
    needsNetwork: true,
    // PostgreSQL's wire protocol does not pass an HTTP proxy: the Node must allow an open network.
    network: "open",
    limits: { memoryBytes: 256 * MiB, nanoCpus: 500_000_000, pids: 64 },
    user: NOBODY,
    homepage: "https://github.com/modelcontextprotocol/servers-archived/tree/main/src/postgres",
  },
  {
    id: "brave-search",
    name: "Brave Search",
    description: "Web and local search through the Brave Search API.",
    image: "mcp/brave-search",
    baseArgs: [],
    baseEnv: {},
    mounts: { min: 0, max: 0, args: [], description: "Takes no mounts." },
    settings: [
      {
        name: "apiKey",
        description: "Brave Search API key",
        secret: true,
        required: true,
        env: "BRAVE_API_KEY",
      },
    ],
    needsNetwork: true,
    // The one host its tools call (https://api.search.brave.com/res/v1/...).
    network: { allow: ["api.search.brave.com:443"] },
    limits: { memoryBytes: 256 * MiB, nanoCpus: 500_000_000, pids: 64 },
    user: NOBODY,
    homepage: "https://github.com/modelcontextprotocol/servers-archived/tree/main/src/brave-search",
  },
];

/** Why a preset request was refused; carried in the error's details as `reason`. */
export type PresetErrorReason =
  | "unknown_preset"
  | "too_few_mounts"
  | "too_many_mounts"
  | "mount_refused"
  | "missing_setting"
  | "unknown_setting"
  | "option_refused"
  | "invalid_spec";

/** A CoreError (`validation_failed`, or `not_found` for an unknown preset) with a specific reason. */
export class PresetError extends CoreError {
  readonly reason: PresetErrorReason;
  constructor(reason: PresetErrorReason, message: string) {
    super(reason === "unknown_preset" ? "not_found" : "validation_failed", message, { reason });
    this.name = "PresetError";
    this.reason = reason;
  }
}

export interface PresetRequest {
  /** The server's name on the Node (it becomes `mcp:<name>` in tool sources). */
  name: string;
  mounts?: ReadonlyArray<{ source: string; target: string; readOnly?: boolean | undefined }> | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  args?: readonly string[] | undefined;
  /** Replaces the preset's own network (e.g. a different API host); unset: the preset's. */
  network?: McpNetwork | undefined;
  /** Setting values, secrets already decrypted by the caller. */
  settings?: Readonly<Record<string, string>> | undefined;
}

export function listPresets(): readonly McpPreset[] {
  return MCP_PRESETS;
}

export function getPreset(id: string): McpPreset | undefined {
  return MCP_PRESETS.find((preset) => preset.id === id);
}

/**
 * Values a user supplied that a program would read as command-line options (`-x`, `--flag`): extra
 * args, environment values (images splice them into command lines) and setting values. Only a
 * preset's own template may put options on the command line (git's `--repository`), so a request
 * cannot turn a directory argument into `--allow-everything`. The Node refuses such env values too.
 */
export function optionLikeProblems(parts: {
  args?: readonly string[] | undefined;
  env?: Readonly<Record<string, string>> | undefined;
  settings?: Readonly<Record<string, string>> | undefined;
}): string[] {
  const problems: string[] = [];
  for (const arg of parts.args ?? []) {
    // trimStart: " --x" splits into an option wherever a shell or a template splices it in (issue 15.6).
    if (arg.trimStart().startsWith("-"))
      problems.push(`argument ${JSON.stringify(arg.slice(0, 80))} looks like an option`);
  }
  for (const [kind, record] of [
    ["environment value", parts.env],
    ["setting", parts.settings],
  ] as const) {
    for (const [name, value] of Object.entries(record ?? {})) {
      if (value.trimStart().startsWith("-"))
        problems.push(`${kind} ${name} starts with "-" and would read as an option`);
    }
  }
  return problems;
}

const fill = (template: readonly string[], key: string, value: string) =>
  template.map((part) => part.replaceAll(key, value));

/** Turns a preset request into the spec the Node runs; throws a PresetError naming what is wrong. */
export function resolvePreset(presetId: string, request: PresetRequest): ManagedMcpSpec {
  const preset = getPreset(presetId);
  if (!preset) {
    throw new PresetError(
      "unknown_preset",
      `unknown MCP preset ${JSON.stringify(presetId)}; known presets: ${MCP_PRESETS.map((p) => p.id).join(", ")}`,
    );
  }
  const mounts: McpMount[] = (request.mounts ?? []).map((m) => ({
    source: m.source,
    target: m.target,
    readOnly: m.readOnly !== false,
  }));
  if (mounts.length < preset.mounts.min) {
    throw new PresetError(
      "too_few_mounts",
      `preset ${preset.id} needs at least ${preset.mounts.min} mount(s): ${preset.mounts.description}`,
    );
  }
  if (mounts.length > preset.mounts.max) {
    throw new PresetError(
      "too_many_mounts",
      preset.mounts.max === 0
        ? `preset ${preset.id} takes no mounts`
        : `preset ${preset.id} takes at most ${preset.mounts.max} mount(s): ${preset.mounts.description}`,
    );
  }
  const mountProblems = checkMounts(mounts);
  if (mountProblems.length > 0) throw new PresetError("mount_refused", `mounts refused: ${mountProblems.join("; ")}`);

  const optionLike = optionLikeProblems(request);
  if (optionLike.length > 0) {
    throw new PresetError(
      "option_refused",
      `refused: ${optionLike.join("; ")} (only a preset's template passes options)`,
    );
  }

  const given = request.settings ?? {};
  const known = new Set(preset.settings.map((s) => s.name));
  const unknown = Object.keys(given).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    const offered = preset.settings.length ? `it takes ${[...known].join(", ")}` : "it takes none";
    throw new PresetError("unknown_setting", `preset ${preset.id} has no setting ${unknown.join(", ")}; ${offered}`);
  }
  const env: Record<string, string> = { ...preset.baseEnv, ...request.env };
  const settingArgs: string[] = [];
  for (const setting of preset.settings) {
    const value = given[setting.name];
    if (value === undefined || value === "") {
      if (setting.required) {
        throw new PresetError(
          "missing_setting",
          `preset ${preset.id} needs the setting ${setting.name} (${setting.description})${setting.secret ? ", from a secret" : ""}`,
        );
      }
      continue;
    }
    if (setting.env) env[setting.env] = value;
    if (setting.args) settingArgs.push(...fill(setting.args, "{value}", value));
  }

  const parsed = ManagedMcpSpec.safeParse({
    kind: "managed",
    name: request.name,
    image: preset.image,
    args: [
      ...preset.baseArgs,
      ...settingArgs,
      ...mounts.flatMap((m) => fill(preset.mounts.args, "{target}", m.target)),
      ...(request.args ?? []),
    ],
    env,
    mounts,
    network: request.network ?? preset.network,
    limits: { ...preset.limits },
    user: preset.user,
  });
  if (!parsed.success) {
    throw new PresetError("invalid_spec", `preset ${preset.id}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The catalog object the MCP service takes (`list` for the route, `resolve` when a server is added or sent). */
export const mcpPresetCatalog = {
  list: (): McpPreset[] => [...MCP_PRESETS],
  resolve: (presetId: string, request: PresetRequest): ManagedMcpSpec => resolvePreset(presetId, request),
  network: (presetId: string): McpNetwork | undefined => getPreset(presetId)?.network,
};
