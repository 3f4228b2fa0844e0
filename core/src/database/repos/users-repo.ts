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
   * Takes one login attempt for the user BEFORE the password is checked (issue 15.5): one
   * conditional UPDATE, so of any number of parallel attempts at most `max` get through until a
   * success resets the count. The attempt that reaches `max` also locks the user until
   * `lockUntil`; an expired lock is cleared first (once: it sets `locked_until` NULL). Returns the
   * attempt's number, or undefined when the user is locked (or does not exist).
   */
  async claimLoginAttempt(id: string, options: { max: number; lockUntil: string }): Promise<number | undefined> {
    const now = isoNow(this.clock);
    await this.db
      .updateTable("users")
      .set({ failed_logins: 0, locked_until: null })
      .where("id", "=", id)
      .where("locked_until", "is not", null)
      .where("locked_until", "<=", now)
      .execute();
    const row = await this.db
      .updateTable("users")
      .set((eb) => ({
        failed_logins: eb("failed_logins", "+", 1),
        locked_until: eb
          .case()
          .when("failed_logins", ">=", options.max - 1)
          .then(options.lockUntil)
          .else(eb.ref("locked_until"))
          .end(),
      }))
      .where("id", "=", id)
      .where("failed_logins", "<", options.max)
      .where((eb) => eb.or([eb("locked_until", "is", null), eb("locked_until", "<=", now)]))
      .returning("failed_logins")
      .executeTakeFirst();
    return row?.failed_logins;
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
