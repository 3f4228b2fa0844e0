import type { AuditEntry } from "./types.ts";

/* What GET /api/audit adds to each stored entry (core/src/services/audit-view.ts): the things it
 * names that still exist, by their current name. Kept beside types.ts until the UI's types come
 * from the Core's schemas (issue 20.6). */

export type AuditLinkKind =
  | "job"
  | "run"
  | "node"
  | "user"
  | "token"
  | "provider"
  | "channel"
  | "mcp_server"
  | "secret";
export type AuditLinkRole = "actor" | "target" | "run" | "job" | "node" | "token";

export interface AuditLink {
  role: AuditLinkRole;
  kind: AuditLinkKind;
  id: string;
  name: string;
}

export interface AuditEntryView extends AuditEntry {
  targetName?: string | null;
  links?: AuditLink[];
}
