import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";

/** What `fabricore login` stores. Only the URL and an API token: the file is mode 0600 because
 * the token is as good as the user's password for the API. */
export const ConfigFile = z.object({
  url: z.url(),
  token: z.string().min(1),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

export interface Connection {
  url: string;
  token: string;
}

type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), ".config");
  return join(base, "fabricore", "config.json");
}

export function readConfig(env: Env = process.env): ConfigFile | undefined {
  const path = configPath(env);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CliError(
      "config",
      `${path} is not JSON (${error instanceof Error ? error.message : error}); run fabricore login again`,
    );
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success) throw new CliError("config", `${path}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Written to a temporary file created 0600 and renamed, so the token is never readable by others,
 * not even for a moment, and a crash leaves the old file whole. */
export function writeConfig(config: ConfigFile, env: Env = process.env): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temp, 0o600);
  renameSync(temp, path);
  return path;
}

/** Flags win over FABRICORE_URL / FABRICORE_TOKEN, which win over the config file. */
export function resolveConnection(flags: { url?: string; token?: string }, env: Env = process.env): Connection {
  const fromEnv = { url: env.FABRICORE_URL?.trim() || undefined, token: env.FABRICORE_TOKEN?.trim() || undefined };
  const needFile = !(flags.url ?? fromEnv.url) || !(flags.token ?? fromEnv.token);
  const file = needFile ? readConfig(env) : undefined;
  const url = flags.url ?? fromEnv.url ?? file?.url;
  const token = flags.token ?? fromEnv.token ?? file?.token;
  if (!url)
    throw new CliError("config", "no Core URL: set FABRICORE_URL, pass --url or run fabricore login URL --token T");
  if (!token)
    throw new CliError(
      "config",
      "no API token: set FABRICORE_TOKEN, pass --token or run fabricore login URL --token T",
    );
  return { url: normaliseUrl(url), token };
}

export function normaliseUrl(url: string): string {
  const parsed = z.url({ protocol: /^https?$/ }).safeParse(url);
  if (!parsed.success) throw new CliError("usage", `not an http(s) URL: ${url}`);
  return url.replace(/\/+$/, "");
}
