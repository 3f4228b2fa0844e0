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
    // A transaction so the read of the id and the write agree; the unique name index settles a race
    // between two creators (the loser retries once and then replaces).
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          const existing = await trx
            .selectFrom("secrets")
            .select(["id", "created_at"])
            .where("name", "=", name)
            .executeTakeFirst();
          if (existing) {
            await trx
              .updateTable("secrets")
              .set({
                ciphertext: this.box.seal(value, secretAad(existing.id)),
                key_version: this.box.keyVersion,
                updated_at: now,
              })
              .where("id", "=", existing.id)
              .execute();
            return { name, createdAt: existing.created_at, updatedAt: now };
          }
          const id = newId();
          await trx
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
        });
      } catch (err) {
        if (attempt === 0 && isUniqueViolation(err)) continue;
        throw err;
      }
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

  async delete(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom("secrets").where("name", "=", name).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
