import type { Kysely } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.ts";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { isUniqueViolation } from "../errors.ts";
import { newId } from "../ids.ts";
import type { Database } from "../schema.ts";
import type { SecretInfo } from "../types.ts";

/** Bound into each ciphertext: the row id, so a value copied to another secret's row fails to open. */
export function secretAad(id: string): string {
  return `secrets:${id}:value`;
}

export class SecretsRepo {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, box: SecretBox, options: { clock?: Clock } = {}) {
    this.db = db;
    this.box = box;
    this.clock = options.clock ?? systemClock;
  }

  /** Creates or replaces. A replaced secret keeps its id and created_at; only the value changes. */
  async put(name: string, value: string): Promise<SecretInfo> {
    const now = isoNow(this.clock);
    // No transaction: the id (bound into the ciphertext) is read first, then the write is conditional
    // on that id. A concurrent delete makes the update miss, a concurrent create makes the insert hit
    // the unique name index; either way the next attempt sees the new state. This avoids SQLite's
    // read-then-write lock upgrade, which fails at once (no busy wait) when another process writes.
    for (let attempt = 1; ; attempt++) {
      const existing = await this.db
        .selectFrom("secrets")
        .select(["id", "created_at"])
        .where("name", "=", name)
        .executeTakeFirst();
      try {
        if (existing) {
          const r = await this.db
            .updateTable("secrets")
            .set({
              ciphertext: this.box.seal(value, secretAad(existing.id)),
              key_version: this.box.keyVersion,
              updated_at: now,
            })
            .where("id", "=", existing.id)
            .executeTakeFirst();
          if (r.numUpdatedRows > 0n) return { name, createdAt: existing.created_at, updatedAt: now };
        } else {
          const id = newId();
          await this.db
            .insertInto("secrets")
            .values({
              id,
              name,
              ciphertext: this.box.seal(value, secretAad(id)),
              key_version: this.box.keyVersion,
              created_at: now,
              updated_at: now,
            })
            .execute();
          return { name, createdAt: now, updatedAt: now };
        }
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      if (attempt >= 10) throw new Error(`secret ${name} kept changing under concurrent writes; giving up`);
    }
  }

  async list(): Promise<SecretInfo[]> {
    const rows = await this.db
      .selectFrom("secrets")
      .select(["name", "created_at", "updated_at"])
      .orderBy("name")
      .execute();
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at, updatedAt: r.updated_at }));
  }

  /** Decrypts; throws SecretsError `decrypt_failed` when the stored value was tampered with. */
  async getValue(name: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("secrets")
      .select(["id", "ciphertext"])
      .where("name", "=", name)
      .executeTakeFirst();
    return row && this.box.open(row.ciphertext, secretAad(row.id));
  }

  /** Every secret with its value (for redaction from transcripts and logs). A value that does not
   * open is left out and passed to `onUnreadable` (without one, the SecretsError is thrown): one
   * damaged row must not stop everything else that reads secrets (issue 21.3). */
  async listValues(
    onUnreadable?: (row: { id: string; name: string }, error: unknown) => void,
  ): Promise<Array<{ name: string; value: string }>> {
    const rows = await this.db.selectFrom("secrets").select(["id", "name", "ciphertext"]).orderBy("name").execute();
    const out: Array<{ name: string; value: string }> = [];
    for (const r of rows) {
      try {
        out.push({ name: r.name, value: this.box.open(r.ciphertext, secretAad(r.id)) });
      } catch (error) {
        if (!onUnreadable) throw error;
        onUnreadable({ id: r.id, name: r.name }, error);
      }
    }
    return out;
  }

  /** Every sealed value, raw, with its key version (for key rotation). */
  async listSealed(): Promise<Array<{ id: string; ciphertext: string; keyVersion: number }>> {
    const rows = await this.db.selectFrom("secrets").select(["id", "ciphertext", "key_version"]).execute();
    return rows.map((r) => ({ id: r.id, ciphertext: r.ciphertext, keyVersion: r.key_version }));
  }

  /** Replaces a sealed value only if it is still `expected` (a concurrent put wins). */
  async replaceSealed(id: string, expected: string, ciphertext: string, keyVersion: number): Promise<boolean> {
    const r = await this.db
      .updateTable("secrets")
      .set({ ciphertext, key_version: keyVersion })
      .where("id", "=", id)
      .where("ciphertext", "=", expected)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom("secrets").where("name", "=", name).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
