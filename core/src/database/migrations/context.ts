import type { DialectName } from "../connection.ts";

/** What a migration may need beyond the connection: the few DDL spellings that differ. */
export interface MigrationContext {
  dialect: DialectName;
}
