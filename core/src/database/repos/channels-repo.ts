import type { Kysely } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.ts";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { ChannelsTable, Database } from "../schema.ts";
import type { Channel, NewChannel } from "../types.ts";

export function channelSecretAad(id: string): string {
  return `channels:${id}:secret`;
}

type ChannelRow = Pick<ChannelsTable, "id" | "name" | "kind" | "config" | "created_at"> & {
  secret_ciphertext: string | null;
};

/** The names of the secret fields are kept in clear beside the envelope's JSON, so listing a
 * channel never opens its secret. */
interface StoredConfig {
  public: Record<string, unknown>;
  secretFields: string[];
}

function toChannel(row: ChannelRow): Channel {
  const stored = parseJsonOr<StoredConfig>(row.config, "channels.config", { public: {}, secretFields: [] });
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    config: stored.public,
    secrets: stored.secretFields,
    createdAt: row.created_at,
  };
}

/** Notification channels. The secret parts of a config are one AES-256-GCM envelope bound to the
 * channel's row; nothing here returns them except `getSecret`, which the sender calls. */
export class ChannelsRepo {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, box: SecretBox, options: { clock?: Clock } = {}) {
    this.db = db;
    this.box = box;
    this.clock = options.clock ?? systemClock;
  }

  /** Throws DatabaseError `conflict` when the name is taken. */
  async create(input: NewChannel): Promise<Channel> {
    const id = newId();
    const secretFields = Object.keys(input.secret).sort();
    const row = await translateConstraint(`channel ${input.name}`, () =>
      this.db
        .insertInto("channels")
        .values({
          id,
          name: input.name,
          kind: input.kind,
          config: toJson({ public: input.config, secretFields } satisfies StoredConfig),
          secret_ciphertext: secretFields.length ? this.box.seal(toJson(input.secret), channelSecretAad(id)) : null,
          created_at: isoNow(this.clock),
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toChannel(row);
  }

  async list(): Promise<Channel[]> {
    const rows = await this.db.selectFrom("channels").selectAll().orderBy("name").execute();
    return rows.map(toChannel);
  }

  async get(id: string): Promise<Channel | undefined> {
    const row = await this.db.selectFrom("channels").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toChannel(row);
  }

  /** By id first, then by name: a job's notify rule may name either. */
  async resolve(idOrName: string): Promise<Channel | undefined> {
    const row =
      (await this.db.selectFrom("channels").selectAll().where("id", "=", idOrName).executeTakeFirst()) ??
      (await this.db.selectFrom("channels").selectAll().where("name", "=", idOrName).executeTakeFirst());
    return row && toChannel(row);
  }

  /** The decrypted secret fields ({} when none); throws SecretsError `decrypt_failed` when tampered with. */
  async getSecret(id: string): Promise<Record<string, string>> {
    const row = await this.db
      .selectFrom("channels")
      .select(["secret_ciphertext"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row?.secret_ciphertext) return {};
    return JSON.parse(this.box.open(row.secret_ciphertext, channelSecretAad(id))) as Record<string, string>;
  }

  /** Its deliveries go with it (foreign key cascade). */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("channels").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  /** Every sealed channel secret, raw (for key rotation). */
  async listSealedSecrets(): Promise<Array<{ id: string; ciphertext: string }>> {
    const rows = await this.db
      .selectFrom("channels")
      .select(["id", "secret_ciphertext"])
      .where("secret_ciphertext", "is not", null)
      .execute();
    return rows.map((r) => ({ id: r.id, ciphertext: r.secret_ciphertext! }));
  }

  /** Replaces a sealed secret only if it is still `expected` (a concurrent change wins). */
  async replaceSealedSecret(id: string, expected: string, ciphertext: string): Promise<boolean> {
    const r = await this.db
      .updateTable("channels")
      .set({ secret_ciphertext: ciphertext })
      .where("id", "=", id)
      .where("secret_ciphertext", "=", expected)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
