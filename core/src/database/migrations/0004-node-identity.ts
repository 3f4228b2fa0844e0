import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Node identity (issue 6): each Node registers its own Ed25519 public key with its enrollment token,
 * which is then spent (`token_used_at`); later connections sign a challenge whose nonce is recorded
 * in `node_nonces` so it is accepted once. Only public keys are stored: a copy of the database admits
 * no Node.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("nodes").addColumn("public_key", "text").execute();
  await db.schema.alterTable("nodes").addColumn("key_registered_at", "text").execute();
  await db.schema.alterTable("nodes").addColumn("token_used_at", "text").execute();
  await db.schema
    .createTable("node_nonces")
    .addColumn("nonce", "text", (c) => c.primaryKey())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("node_nonces_expires_at").on("node_nonces").column("expires_at").execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable("node_nonces").execute();
  await db.schema.alterTable("nodes").dropColumn("token_used_at").execute();
  await db.schema.alterTable("nodes").dropColumn("key_registered_at").execute();
  await db.schema.alterTable("nodes").dropColumn("public_key").execute();
}
