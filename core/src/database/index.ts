export { type Clock, systemClock } from "./clock.ts";
export {
  type DialectName,
  dialectOf,
  isPostgresUrl,
  type OpenDatabaseOptions,
  type OpenedDatabase,
  openDatabase,
  SQLITE_FILE,
} from "./connection.ts";
export { DatabaseError, type DatabaseErrorCode, isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
export { newId } from "./ids.ts";
export { migrateToLatest } from "./migrate.ts";
export * from "./repos/index.ts";
export type { Database } from "./schema.ts";
export * from "./types.ts";
