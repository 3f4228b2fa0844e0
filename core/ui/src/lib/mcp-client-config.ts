/**
 * What an MCP client needs to reach the Core's `/mcp` with an API token, in each client's own
 * config format. Every snippet carries the token itself: it was made for this client a moment ago
 * and is shown once, so the user pastes one block and is done.
 */

import type { CreateApiTokenBody } from "../api/admin.ts";
import type { Role } from "../api/types.ts";

/** Which of the token's MCP calls wait for an operator. */
export type Approval = "none" | "tools" | "all";

export interface McpClientTarget {
  /** The entry's name in the client (also the key in its config file). */
  name: string;
  /** The Core's MCP endpoint, `<origin>/mcp`. */
  url: string;
  /** A freshly created API token (`fct_…`). */
  token: string;
}

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** One server entry in Cursor's notation, which LM Studio follows (`url` + `headers`). */
export function remoteEntry(target: McpClientTarget) {
  return { url: target.url, headers: { Authorization: `Bearer ${target.token}` } };
}

/** LM Studio's (and Cursor's) `mcp.json`. */
export function mcpJson(target: McpClientTarget): string {
  return pretty({ mcpServers: { [target.name]: remoteEntry(target) } });
}

/**
 * LM Studio's "Add to LM Studio" link: `lmstudio://add_mcp?name=…&config=…`, where `config` is the
 * server entry (not the whole mcp.json) as base64 JSON (lmstudio.ai/docs/app/mcp/deeplink).
 */
export function lmStudioDeepLink(target: McpClientTarget): string {
  const json = JSON.stringify(remoteEntry(target));
  // btoa takes Latin-1 only: encode as UTF-8 bytes first (a URL or name may hold any character).
  const bytes = new TextEncoder().encode(json);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const params = new URLSearchParams({ name: target.name, config: btoa(binary) });
  return `lmstudio://add_mcp?${params.toString()}`;
}

/**
 * Claude Desktop's `claude_desktop_config.json`: it starts local (stdio) servers only and takes no
 * headers for remote ones, so `mcp-remote` bridges stdio to the Core's Streamable HTTP. The token
 * sits in `env`, and the header has no space around the colon: Claude Desktop on Windows does not
 * quote arguments with spaces (mcp-remote's README). mcp-remote refuses plain http:// off this
 * machine unless told `--allow-http`.
 */
export function claudeDesktopConfig(target: McpClientTarget): string {
  // A literal ${AUTH_HEADER}: mcp-remote expands it from `env` when it starts.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote's placeholder, not a template
  const args = ["-y", "mcp-remote", target.url, "--header", "Authorization:${AUTH_HEADER}"];
  if (needsAllowHttp(target.url)) args.push("--allow-http");
  return pretty({
    mcpServers: {
      [target.name]: { command: "npx", args, env: { AUTH_HEADER: `Bearer ${target.token}` } },
    },
  });
}

/** VS Code's `.vscode/mcp.json` (or the user profile's): `servers` with `type: "http"`. */
export function vsCodeConfig(target: McpClientTarget): string {
  return pretty({ servers: { [target.name]: { type: "http", ...remoteEntry(target) } } });
}

function needsAllowHttp(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:") return false;
    return !["localhost", "127.0.0.1", "[::1]"].includes(parsed.hostname);
  } catch {
    return false;
  }
}

/** The token's limits from the form: nothing the user left empty is sent (the Core's defaults hold). */
export function mcpTokenBody(form: {
  name: string;
  role: Role | null;
  ownRole: Role | null;
  selector: string;
  tools: string[];
  approval: Approval;
  approvalTools: string[];
}): CreateApiTokenBody {
  const scopes = {
    ...(form.selector.trim() ? { selector: form.selector.trim() } : {}),
    ...(form.tools.length > 0 ? { tools: form.tools } : {}),
  };
  return {
    name: form.name.trim(),
    ...(form.role && form.role !== form.ownRole ? { role: form.role } : {}),
    ...(Object.keys(scopes).length > 0 ? { scopes } : {}),
    ...(form.approval === "all" ? { mcpApproval: { required: true } } : {}),
    ...(form.approval === "tools" && form.approvalTools.length > 0
      ? { mcpApproval: { tools: form.approvalTools } }
      : {}),
  };
}
