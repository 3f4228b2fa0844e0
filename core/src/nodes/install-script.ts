import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeBinaries } from "./node-binaries.ts";

/** install.sh beside this file, with `@NAME@` placeholders for what the Core fills in. */
const TEMPLATE = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "install.sh"), "utf8");

/** A Core URL the script can carry: scheme, host (name, IPv4 or [IPv6]), optional port and path,
 * nothing a shell or a unit file could read as anything else. */
const SAFE_URL = /^https?:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/;

export class InstallScriptError extends Error {
  readonly code = "bad_core_url";
}

/** One single-quoted shell word (the value may hold no quote, but quoting is the rule anyway). */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The Node refuses plain http:// to a Core that is not on its own host unless told --insecure. */
export function needsInsecure(coreUrl: string): boolean {
  const url = new URL(coreUrl);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return url.protocol === "http:" && !(host === "localhost" || host === "::1" || /^127\./.test(host));
}

export interface InstallScriptInput {
  coreUrl: string;
  nodeVersion: string;
  sha256: { "linux-x64"?: string | undefined; "linux-arm64"?: string | undefined };
}

/** The installer with this Core's URL, the Node version it serves and each platform's digest. */
export function renderInstallScript(input: InstallScriptInput): string {
  const coreUrl = input.coreUrl.replace(/\/+$/, "");
  if (!SAFE_URL.test(coreUrl)) {
    throw new InstallScriptError(`the Core URL ${JSON.stringify(coreUrl)} cannot be written into install.sh`);
  }
  const hex = (value: string | undefined) => (value && /^[0-9a-f]{64}$/.test(value) ? value : "");
  const values: Record<string, string> = {
    CORE_URL: coreUrl,
    NODE_VERSION: /^[0-9A-Za-z.+-]{1,64}$/.test(input.nodeVersion) ? input.nodeVersion : "unknown",
    SHA256_LINUX_X64: hex(input.sha256["linux-x64"]),
    SHA256_LINUX_ARM64: hex(input.sha256["linux-arm64"]),
    CORE_INSECURE: needsInsecure(coreUrl) ? "1" : "0",
  };
  return TEMPLATE.replace(/@([A-Z0-9_]+)@/g, (whole, name: string) =>
    name in values ? shellQuote(values[name] as string) : whole,
  );
}

/** The script for what `binaries` holds now. */
export async function installScriptFor(binaries: NodeBinaries, coreUrl: string, nodeVersion: string) {
  const available = await binaries.available();
  return renderInstallScript({
    coreUrl,
    nodeVersion,
    sha256: { "linux-x64": available["linux-x64"]?.sha256, "linux-arm64": available["linux-arm64"]?.sha256 },
  });
}
