import type { Kysely } from "kysely";
import type { Database } from "../schema.ts";

/** The kinds of thing the audit log points at (services/audit-refs.ts says which entry names which). */
export type AuditNameKind =
  | "job"
  | "run"
  | "node"
  | "user"
  | "token"
  | "provider"
  | "channel"
  | "mcp_server"
  | "secret";

/** A thing that still exists: its id (for the link) and the name to show. */
export interface AuditName {
  id: string;
  name: string;
}

/** What to look up: per kind, the ids and/or names the entries store. */
export type AuditNameWanted = Partial<Record<AuditNameKind, { ids?: string[]; names?: string[] }>>;

/** `kind:id:<id>` or `kind:name:<name>` → what it resolves to now. */
export type AuditNames = Map<string, AuditName>;

export function auditNameKey(kind: AuditNameKind, by: "id" | "name", key: string): string {
  return `${kind}:${by}:${key}`;
}

/** At most this many keys per query: far above one page of the log, below every driver's bind limit. */
const MAX_KEYS = 900;

function unique(values: string[] | undefined): string[] {
  return [...new Set(values ?? [])].slice(0, MAX_KEYS);
}

/**
 * Names for the audit log's references, one query per kind and key (never one per entry), so a
 * page of 1,000 entries costs at most a dozen small indexed lookups. Deleted things are simply
 * absent: the log keeps what it recorded, the UI links only what is still there.
 */
export class AuditNamesRepo {
  private readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async resolve(wanted: AuditNameWanted): Promise<AuditNames> {
    const out: AuditNames = new Map();
    const put = (kind: AuditNameKind, by: "id" | "name", key: string, value: AuditName): void => {
      out.set(auditNameKey(kind, by, key), value);
    };
    const tasks: Array<Promise<void>> = [];
    const named = {
      job: "jobs",
      node: "nodes",
      provider: "providers",
      channel: "channels",
      secret: "secrets",
    } as const;
    for (const kind of Object.keys(named) as Array<keyof typeof named>) {
      const table = named[kind];
      const ids = unique(wanted[kind]?.ids);
      const names = unique(wanted[kind]?.names);
      if (ids.length > 0)
        tasks.push(
          this.db
            .selectFrom(table)
            .select(["id", "name"])
            .where("id", "in", ids)
            .execute()
            .then((rows) => {
              for (const row of rows) put(kind, "id", row.id, row);
            }),
        );
      if (names.length > 0)
        tasks.push(
          this.db
            .selectFrom(table)
            .select(["id", "name"])
            .where("name", "in", names)
            .execute()
            .then((rows) => {
              for (const row of rows) put(kind, "name", row.name, row);
            }),
        );
    }
    const userIds = unique(wanted.user?.ids);
    const userNames = unique(wanted.user?.names);
    if (userIds.length > 0 || userNames.length > 0)
      tasks.push(
        this.db
          .selectFrom("users")
          .select(["id", "username as name"])
          .where((eb) =>
            eb.or([
              ...(userIds.length > 0 ? [eb("id", "in", userIds)] : []),
              ...(userNames.length > 0 ? [eb("username", "in", userNames)] : []),
            ]),
          )
          .execute()
          .then((rows) => {
            for (const row of rows) {
              put("user", "id", row.id, row);
              put("user", "name", row.name, row);
            }
          }),
      );

    const runIds = unique(wanted.run?.ids);
    if (runIds.length > 0)
      tasks.push(
        this.db
          .selectFrom("runs")
          .innerJoin("jobs", "jobs.id", "runs.job_id")
          .select(["runs.id as id", "jobs.name as job"])
          .where("runs.id", "in", runIds)
          .execute()
          .then((rows) => {
            // A run has no name of its own: it is shown as its short id "of" its job.
            for (const row of rows) put("run", "id", row.id, { id: row.id, name: row.job });
          }),
      );

    // Session tokens are not listed anywhere (a sign-in, not a thing to manage): only API tokens resolve.
    const tokenIds = unique(wanted.token?.ids);
    if (tokenIds.length > 0)
      tasks.push(
        this.db
          .selectFrom("api_tokens")
          .select(["id", "name"])
          .where("id", "in", tokenIds)
          .where("kind", "=", "api")
          .execute()
          .then((rows) => {
            for (const row of rows) put("token", "id", row.id, row);
          }),
      );

    // Stored as `<nodeId>/<name>` (the MCP routes' target); one query over the Nodes named.
    const servers = unique(wanted.mcp_server?.ids).filter((k) => k.includes("/"));
    if (servers.length > 0)
      tasks.push(
        this.db
          .selectFrom("mcp_servers")
          .select(["node_id", "name"])
          .where("node_id", "in", [...new Set(servers.map((k) => k.slice(0, k.indexOf("/"))))])
          .execute()
          .then((rows) => {
            const wantedKeys = new Set(servers);
            for (const row of rows) {
              const key = `${row.node_id}/${row.name}`;
              if (wantedKeys.has(key)) put("mcp_server", "id", key, { id: key, name: row.name });
            }
          }),
      );

    await Promise.all(tasks);
    return out;
  }
}
