import type { Kysely } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.ts";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, ProviderRow } from "../schema.ts";
import type { NewProvider, Provider, ProviderOptions, ProviderPatch } from "../types.ts";

export function providerApiKeyAad(id: string): string {
  return `providers:${id}:api_key`;
}

function toProvider(row: ProviderRow): Provider {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    baseUrl: row.base_url,
    hasApiKey: row.api_key_ciphertext !== null,
    options: parseJsonOr<ProviderOptions>(row.options, "providers.options", {}),
    createdAt: row.created_at,
  };
}

export class ProvidersRepo {
  private readonly db: Kysely<Database>;
  private readonly box: SecretBox;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, box: SecretBox, options: { clock?: Clock } = {}) {
    this.db = db;
    this.box = box;
    this.clock = options.clock ?? systemClock;
  }

  /** Throws DatabaseError `conflict` when the name is taken. The key is sealed, never stored plain. */
  async create(input: NewProvider): Promise<Provider> {
    const id = newId();
    const apiKey = input.apiKey ?? null;
    const row = await translateConstraint(`provider ${input.name}`, () =>
      this.db
        .insertInto("providers")
        .values({
          id,
          name: input.name,
          kind: input.kind,
          base_url: input.baseUrl ?? null,
          api_key_ciphertext: apiKey === null ? null : this.box.seal(apiKey, providerApiKeyAad(id)),
          options: toJson(input.options ?? {}),
          created_at: isoNow(this.clock),
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toProvider(row);
  }

  async list(): Promise<Provider[]> {
    const rows = await this.db.selectFrom("providers").selectAll().orderBy("name").execute();
    return rows.map(toProvider);
  }

  async get(id: string): Promise<Provider | undefined> {
    const row = await this.db.selectFrom("providers").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toProvider(row);
  }

  async getByName(name: string): Promise<Provider | undefined> {
    const row = await this.db.selectFrom("providers").selectAll().where("name", "=", name).executeTakeFirst();
    return row && toProvider(row);
  }

  /** By id first, then by name: a job's `model.provider` may be either. */
  async resolve(idOrName: string): Promise<Provider | undefined> {
    return (await this.get(idOrName)) ?? (await this.getByName(idOrName));
  }

  /** The decrypted key; throws SecretsError `decrypt_failed` when the stored value was tampered with. */
  async getApiKey(id: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("providers")
      .select(["api_key_ciphertext"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row?.api_key_ciphertext) return undefined;
    return this.box.open(row.api_key_ciphertext, providerApiKeyAad(id));
  }

  /** Undefined when no such provider. `apiKey`: undefined keeps, null removes, a string replaces. */
  async update(id: string, patch: ProviderPatch): Promise<Provider | undefined> {
    const row = await translateConstraint(`provider ${patch.name ?? id}`, () =>
      this.db
        .updateTable("providers")
        .set({
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.kind !== undefined ? { kind: patch.kind } : {}),
          ...(patch.baseUrl !== undefined ? { base_url: patch.baseUrl } : {}),
          ...(patch.options !== undefined ? { options: toJson(patch.options) } : {}),
          ...(patch.apiKey !== undefined
            ? { api_key_ciphertext: patch.apiKey === null ? null : this.box.seal(patch.apiKey, providerApiKeyAad(id)) }
            : {}),
          // Always set something so an empty patch is still a valid UPDATE that returns the row.
          id,
        })
        .where("id", "=", id)
        .returningAll()
        .executeTakeFirst(),
    );
    return row && toProvider(row);
  }

  /** Every sealed API key, raw (for key rotation). */
  async listSealedApiKeys(): Promise<Array<{ id: string; ciphertext: string }>> {
    const rows = await this.db
      .selectFrom("providers")
      .select(["id", "api_key_ciphertext"])
      .where("api_key_ciphertext", "is not", null)
      .execute();
    return rows.map((r) => ({ id: r.id, ciphertext: r.api_key_ciphertext! }));
  }

  /** Replaces a sealed key only if it is still `expected` (a concurrent change wins). */
  async replaceSealedApiKey(id: string, expected: string, ciphertext: string): Promise<boolean> {
    const r = await this.db
      .updateTable("providers")
      .set({ api_key_ciphertext: ciphertext })
      .where("id", "=", id)
      .where("api_key_ciphertext", "=", expected)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("providers").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
