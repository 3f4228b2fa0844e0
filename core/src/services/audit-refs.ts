import type { AuditEntry } from "../database/types.ts";

/** What an audit entry can point at; each has a page in the UI. */
export type AuditRefKind = "job" | "run" | "node" | "user" | "token" | "provider" | "channel" | "mcp_server" | "secret";

/** How the entry stores the reference: most by id, some by name (secrets, a login's username). */
export type AuditRefKey = "id" | "name";

/** The part of the sentence a reference fills: who, what it was about, or context from the detail. */
export type AuditRefRole = "actor" | "target" | "run" | "job" | "node" | "token";

export interface AuditRef {
  role: AuditRefRole;
  kind: AuditRefKind;
  by: AuditRefKey;
  /** The id or name as stored in the entry. */
  key: string;
}

/** The kind an action's target is, by the action's prefix (as the routes and services write them). */
const TARGET_KIND: Array<[prefix: string, kind: AuditRefKind, by: AuditRefKey]> = [
  ["auth.", "user", "name"],
  ["user.", "user", "id"],
  ["token.", "token", "id"],
  ["node.", "node", "id"],
  ["mcp.add", "mcp_server", "id"],
  ["mcp.remove", "mcp_server", "id"],
  ["mcp.restart", "mcp_server", "id"],
  ["provider.", "provider", "id"],
  ["secret.create", "secret", "name"],
  ["secret.update", "secret", "name"],
  ["secret.delete", "secret", "name"],
  ["job.", "job", "id"],
  ["run.", "run", "id"],
  ["webhook.", "job", "id"],
  ["channel.test", "channel", "name"],
  ["channel.", "channel", "id"],
];

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 && value.length <= 200 ? value : null;
}

/**
 * The things one entry names, from its actor, action, target and detail. Pure, so the Core can
 * collect every entry's references first and resolve them with one query per kind (no query per row).
 */
export function refsOf(entry: Pick<AuditEntry, "actor" | "action" | "target" | "detail">): AuditRef[] {
  const refs: AuditRef[] = [];
  const add = (role: AuditRefRole, kind: AuditRefKind, by: AuditRefKey, key: string | null) => {
    if (key !== null && !refs.some((r) => r.role === role)) refs.push({ role, kind, by, key });
  };
  const actor = entry.actor;
  if (actor.startsWith("job:")) add("actor", "job", "name", text(actor.slice(4)));
  else if (!actor.includes(":") && !["cron", "system", "core", "anonymous", "manual"].includes(actor))
    add("actor", "user", "name", text(actor));

  const rule = TARGET_KIND.find(([prefix]) => entry.action.startsWith(prefix));
  if (rule && entry.target) add("target", rule[1], rule[2], text(entry.target));
  // An MCP server is stored as `<nodeId>/<name>`: its Node is named too.
  if (rule?.[1] === "mcp_server" && entry.target?.includes("/"))
    add("node", "node", "id", text(entry.target.slice(0, entry.target.indexOf("/"))));

  const d = entry.detail ?? {};
  add("run", "run", "id", text(d.runId) ?? text(d.firstRunId));
  add("job", "job", "id", text(d.jobId));
  add("node", "node", "id", text(d.nodeId));
  add("token", "token", "id", text(d.tokenId));
  return refs;
}
