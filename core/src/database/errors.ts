export type DatabaseErrorCode =
  /** A unique constraint refused the write (a name, slug or token hash already taken). */
  | "conflict"
  /** A referenced row does not exist (foreign key), e.g. a run for a deleted job. */
  | "invalid_reference"
  /** A JSON column held something the repository cannot read. */
  | "corrupt_row"
  /** Migrations failed; the Core must not start on a half-migrated schema. */
  | "migration_failed";

export class DatabaseError extends Error {
  readonly code: DatabaseErrorCode;

  constructor(code: DatabaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DatabaseError";
    this.code = code;
  }
}

function driverCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** better-sqlite3 (`SQLITE_CONSTRAINT_UNIQUE`/`_PRIMARYKEY`) and pg (SQLSTATE 23505) spell it differently. */
export function isUniqueViolation(err: unknown): boolean {
  const code = driverCode(err);
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

export function isForeignKeyViolation(err: unknown): boolean {
  const code = driverCode(err);
  return code === "23503" || code === "SQLITE_CONSTRAINT_FOREIGNKEY";
}

/**
 * PostgreSQL refuses text it cannot store (a NUL character: SQLSTATE 22021, 22P05) — in a value or
 * merely in a lookup key — where SQLite accepts it. Input, not a server fault: the API answers 400.
 */
export function isUnstorableText(err: unknown): boolean {
  const code = driverCode(err);
  return code === "22021" || code === "22P05";
}

/** The error itself or any error in its `cause` chain (a driver error wrapped by a repository). */
function someCause(err: unknown, test: (code: string) => boolean): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = driverCode(e);
    if (code !== undefined && test(code)) return true;
    e = typeof e === "object" && "cause" in e ? (e as { cause: unknown }).cause : undefined;
  }
  return false;
}

/**
 * The disk under the database is full: SQLite's SQLITE_FULL, a file write's ENOSPC, PostgreSQL's
 * disk_full (53100). The write did not happen (SQLite rolls the statement back); the API answers 507.
 */
export function isStorageFull(err: unknown): boolean {
  return someCause(err, (code) => code === "SQLITE_FULL" || code === "ENOSPC" || code === "53100");
}

/**
 * Another connection held the lock past busy_timeout (SQLite: SQLITE_BUSY and its extended codes,
 * SQLITE_LOCKED) or PostgreSQL's lock_timeout fired (55P03). Nothing was written; retrying later works.
 */
export function isDatabaseBusy(err: unknown): boolean {
  return someCause(
    err,
    (code) => code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || code === "55P03",
  );
}

/** Runs a write, turning driver constraint errors into typed ones the API maps to 409/400. */
export async function translateConstraint<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (isUniqueViolation(err)) throw new DatabaseError("conflict", `${what} already exists`, { cause: err });
    if (isForeignKeyViolation(err))
      throw new DatabaseError("invalid_reference", `${what} refers to a missing row`, { cause: err });
    throw err;
  }
}
