import type { Kysely } from "kysely";
import type { MigrationContext } from "./context.ts";

/**
 * Issue 21.1: a provider's custom headers (`options.headers`) are where gateway keys go
 * (`Authorization`, `X-Api-Key`), and they were stored, served and logged in plain text inside
 * `options`. Their values are now one AES-256-GCM envelope bound to the row (`headers_ciphertext`,
 * the JSON object of name → value) and their names a plain JSON array (`header_names`) for
 * listing. Rows written before this are moved by the Core at start (it holds the master key; a
 * migration does not): ProvidersRepo.sealLegacyHeaders.
 */
export async function up(db: Kysely<unknown>, _ctx: MigrationContext): Promise<void> {
  await db.schema.alterTable("providers").addColumn("headers_ciphertext", "text").execute();
  await db.schema
    .alterTable("providers")
    .addColumn("header_names", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}
