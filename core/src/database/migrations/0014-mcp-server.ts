import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Scoped API tokens (the fleet as an MCP server): a token may carry less than its owner — a lower
 * `role`, and `scopes` (JSON `{selector?, tools?}`) limiting it to the Nodes a label selector
 * matches and to the named tools; `mcp_approval` (JSON ApprovalPolicy or null) makes its MCP tool
 * calls wait for an operator. Existing tokens keep exactly what they had: NULL means "the owner's
 * role, every Node, every tool, no approval". `mcp_approvals` holds those waiting calls (a call
 * waits on whichever replica took it; any replica's API decides, through this table).
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("api_tokens").addColumn("role", "text").execute();
  await db.schema.alterTable("api_tokens").addColumn("scopes", "text").execute();
  await db.schema.alterTable("api_tokens").addColumn("mcp_approval", "text").execute();
  await db.schema
    .createTable("mcp_approvals")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("token_id", "text", (c) => c.notNull())
    .addColumn("token_name", "text")
    .addColumn("username", "text", (c) => c.notNull())
    .addColumn("node_id", "text", (c) => c.notNull())
    .addColumn("node_name", "text", (c) => c.notNull())
    .addColumn("tool", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("arguments", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("requested_at", "text", (c) => c.notNull())
    .addColumn("deadline", "text", (c) => c.notNull())
    .addColumn("decided_by", "text")
    .addColumn("decided_at", "text")
    .addColumn("reason", "text")
    .execute();
  await db.schema
    .createIndex("mcp_approvals_status_requested")
    .on("mcp_approvals")
    .columns(["status", "requested_at"])
    .execute();
}

export async function down(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.dropTable("mcp_approvals").ifExists().execute();
  await db.schema.alterTable("api_tokens").dropColumn("mcp_approval").execute();
  await db.schema.alterTable("api_tokens").dropColumn("scopes").execute();
  await db.schema.alterTable("api_tokens").dropColumn("role").execute();
}
