import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { isUniqueViolation } from "../errors.ts";
import type { Database } from "../schema.ts";

export interface MasterKeyRecord {
  version: number;
  fingerprint: string;
  createdAt: string;
  retiredAt: string | null;
}

/**
 * Which version each master key is, found by its fingerprint (never the key). This lets the Core
 * refuse a wrong key at start instead of failing on the first secret it opens, and lets rotation
 * know the next version.
 */
export class MasterKeysRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  async list(): Promise<MasterKeyRecord[]> {
    const rows = await this.db.selectFrom("master_keys").selectAll().orderBy("version").execute();
    return rows.map((r) => ({
      version: r.version,
      fingerprint: r.fingerprint,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
  }

  /** Registers a key at `version`; false when that version or fingerprint exists already. */
  async add(version: number, fingerprint: string): Promise<boolean> {
    try {
      await this.db
        .insertInto("master_keys")
        .values({ version, fingerprint, created_at: isoNow(this.clock), retired_at: null })
        .execute();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async retire(version: number): Promise<void> {
    await this.db
      .updateTable("master_keys")
      .set({ retired_at: isoNow(this.clock) })
      .where("version", "=", version)
      .where("retired_at", "is", null)
      .execute();
  }
}
