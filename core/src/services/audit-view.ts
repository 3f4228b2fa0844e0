import { type AuditNames, type AuditNameWanted, auditNameKey } from "../database/repos/audit-names-repo.ts";
import type { AuditEntry } from "../database/types.ts";
import { type AuditRefKind, type AuditRefRole, refsOf } from "./audit-refs.ts";

/** A thing an entry names that still exists, for the UI to link by name (issue 22.7). */
export interface AuditLink {
  role: AuditRefRole;
  kind: AuditRefKind;
  /** The id to link to (a Node's id, `<nodeId>/<name>` for an MCP server). */
  id: string;
  name: string;
}

/** An entry as GET /api/audit answers it: the stored entry plus what its references are called now. */
export interface AuditEntryView extends AuditEntry {
  /** The target's current name; null when it has none or no longer exists. */
  targetName: string | null;
  links: AuditLink[];
}

export interface AuditNameResolver {
  resolve(wanted: AuditNameWanted): Promise<AuditNames>;
}

/** Adds names and links to a page of entries: every reference is collected first, then resolved in one go. */
export async function withNames(entries: AuditEntry[], resolver: AuditNameResolver): Promise<AuditEntryView[]> {
  const refs = entries.map((entry) => refsOf(entry));
  const wanted: AuditNameWanted = {};
  for (const ref of refs.flat()) {
    const slot = wanted[ref.kind] ?? {};
    wanted[ref.kind] = slot;
    const key = ref.by === "id" ? "ids" : "names";
    slot[key] ??= [];
    slot[key].push(ref.key);
  }
  const names = refs.some((r) => r.length > 0) ? await resolver.resolve(wanted) : new Map();
  return entries.map((entry, i) => {
    const links: AuditLink[] = [];
    for (const ref of refs[i] ?? []) {
      const found = names.get(auditNameKey(ref.kind, ref.by, ref.key));
      if (found) links.push({ role: ref.role, kind: ref.kind, id: found.id, name: found.name });
    }
    return { ...entry, targetName: links.find((l) => l.role === "target")?.name ?? null, links };
  });
}
