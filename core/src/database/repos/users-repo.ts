import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Database, UserRow } from "../schema.ts";
import type { NewUser, User } from "../types.ts";

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    role: row.role,
    failedLogins: row.failed_logins,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
  };
}

export class UsersRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** Throws DatabaseError `conflict` when the username is taken. */
  async create(input: NewUser): Promise<User> {
    const row = await translateConstraint(`user ${input.username}`, () =>
      this.db
        .insertInto("users")
        .values({
          id: newId(),
          username: input.username,
          password_hash: input.passwordHash,
          role: input.role,
          failed_logins: 0,
          locked_until: null,
          created_at: isoNow(this.clock),
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toUser(row);
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
    return row && toUser(row);
  }

  async findById(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toUser(row);
  }

  async count(): Promise<number> {
    const { n } = await this.db
      .selectFrom("users")
      .select((eb) => eb.fn.countAll<number | string | bigint>().as("n"))
      .executeTakeFirstOrThrow();
    // PostgreSQL returns count(*) as bigint, which pg hands over as a string.
    return Number(n);
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom("users").selectAll().orderBy("username").execute();
    return rows.map(toUser);
  }

  /**
   * Counts one failed login (incremented in SQL, so concurrent attempts are all counted) and, when
   * the caller decided to lock, sets `locked_until`. Returns the new count (0 for an unknown id).
   */
  async recordFailedLogin(id: string, lockUntil?: string): Promise<number> {
    const row = await this.db
      .updateTable("users")
      .set((eb) => ({
        failed_logins: eb("failed_logins", "+", 1),
        ...(lockUntil !== undefined ? { locked_until: lockUntil } : {}),
      }))
      .where("id", "=", id)
      .returning("failed_logins")
      .executeTakeFirst();
    return row?.failed_logins ?? 0;
  }

  async resetFailedLogins(id: string): Promise<void> {
    await this.db.updateTable("users").set({ failed_logins: 0, locked_until: null }).where("id", "=", id).execute();
  }

  async setRole(id: string, role: User["role"]): Promise<boolean> {
    const r = await this.db.updateTable("users").set({ role }).where("id", "=", id).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Its tokens go with it (foreign key cascade). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("users").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const r = await this.db
      .updateTable("users")
      .set({ password_hash: passwordHash })
      .where("id", "=", id)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
