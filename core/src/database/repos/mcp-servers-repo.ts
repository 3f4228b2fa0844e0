import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, McpServerRow } from "../schema.ts";
import type { McpServer, McpServerSpec } from "../types.ts";

function toMcpServer(row: McpServerRow): McpServer {
  return {
    nodeId: row.node_id,
    name: row.name,
    spec: parseJsonOr<McpServerSpec>(row.spec, "mcp_servers.spec", {}),
    createdAt: row.created_at,
  };
}

/** The MCP servers the Core asked each Node to run; replayed to a Node when it reconnects. */
export class McpServersRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** Create or replace (same node and name). Throws `invalid_reference` for an unknown node. */
  async put(nodeId: string, name: string, spec: McpServerSpec): Promise<McpServer> {
    const row = await translateConstraint(`MCP server ${name}`, () =>
      this.db
        .insertInto("mcp_servers")
        .values({ node_id: nodeId, name, spec: toJson(spec), created_at: isoNow(this.clock) })
        // ON CONFLICT … DO UPDATE is spelled the same on SQLite (3.24+) and PostgreSQL.
        .onConflict((oc) => oc.columns(["node_id", "name"]).doUpdateSet((eb) => ({ spec: eb.ref("excluded.spec") })))
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toMcpServer(row);
  }

  async list(nodeId: string): Promise<McpServer[]> {
    const rows = await this.db
      .selectFrom("mcp_servers")
      .selectAll()
      .where("node_id", "=", nodeId)
      .orderBy("name")
      .execute();
    return rows.map(toMcpServer);
  }

  async get(nodeId: string, name: string): Promise<McpServer | undefined> {
    const row = await this.db
      .selectFrom("mcp_servers")
      .selectAll()
      .where("node_id", "=", nodeId)
      .where("name", "=", name)
      .executeTakeFirst();
    return row && toMcpServer(row);
  }

  async delete(nodeId: string, name: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom("mcp_servers")
      .where("node_id", "=", nodeId)
      .where("name", "=", name)
      .executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
