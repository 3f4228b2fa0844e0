import type * as View from "../../../src/services/audit-view.ts";

/* What GET /api/audit answers (core/src/services/audit-view.ts): each stored entry plus the things
 * it names that still exist, by their current name. Taken from the Core's type (see types.ts). */

export type AuditEntryView = Omit<View.AuditEntryView, "resultHash">;
export type AuditLink = View.AuditLink;
export type AuditLinkKind = AuditLink["kind"];
export type AuditLinkRole = AuditLink["role"];
