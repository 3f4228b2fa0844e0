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

export function providerHeadersAad(id: string): string {
  return `providers:${id}:headers`;
}

function toProvider(row: ProviderRow): Provider {
  // `headers` never leaves in options: a row not yet moved by sealLegacyHeaders still hides them.
  const { headers: legacy, ...options } = parseJsonOr<ProviderOptions>(row.options, "providers.options", {});
  const names = parseJsonOr<string[]>(row.header_names, "providers.header_names", []);
  const legacyNames = legacy && typeof legacy === "object" ? Object.keys(legacy) : [];
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    baseUrl: row.base_url,
    hasApiKey: row.api_key_ciphertext !== null,
    options,
    headers: [...new Set([...names, ...legacyNames])].map((name) => ({ name, hasValue: true })),
    createdAt: row.created_at,
  };
}

/** `options` as stored: never with `headers` (those are sealed apart). */
function storedOptions(options: ProviderOptions | undefined): string {
  const { headers: _sealedApart, ...rest } = options ?? {};
  return toJson(rest);
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
          options: storedOptions(input.options),
          ...this.sealedHeaders(id, input.headers ?? {}),
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

  /** The decrypted custom headers ({} when none); throws SecretsError `decrypt_failed` when tampered with. */
  async getHeaders(id: string): Promise<Record<string, string>> {
    const row = await this.db
      .selectFrom("providers")
      .select(["headers_ciphertext", "options"])
      .where("id", "=", id)
      .executeTakeFirst();
    if (!row) return {};
    const legacy = parseJsonOr<ProviderOptions>(row.options, "providers.options", {}).headers as
      | Record<string, string>
      | undefined;
    const sealed = row.headers_ciphertext
      ? (JSON.parse(this.box.open(row.headers_ciphertext, providerHeadersAad(id))) as Record<string, string>)
      : {};
    return { ...(legacy ?? {}), ...sealed };
  }

  /**
   * Moves headers that an older Core stored in plain `options` into the sealed column (issue 21.1);
   * returns how many rows it moved. Run at start, after the key ring is open. A row changed
   * concurrently keeps its newer state (the update is conditional on the options read).
   */
  async sealLegacyHeaders(): Promise<number> {
    const rows = await this.db.selectFrom("providers").select(["id", "options", "headers_ciphertext"]).execute();
    let moved = 0;
    for (const row of rows) {
      const options = parseJsonOr<ProviderOptions>(row.options, "providers.options", {});
      const legacy = options.headers;
      if (legacy === undefined) continue;
      const plain = legacy && typeof legacy === "object" ? (legacy as Record<string, string>) : {};
      const current = row.headers_ciphertext
        ? (JSON.parse(this.box.open(row.headers_ciphertext, providerHeadersAad(row.id))) as Record<string, string>)
        : {};
      const r = await this.db
        .updateTable("providers")
        .set({ options: storedOptions(options), ...this.sealedHeaders(row.id, { ...plain, ...current }) })
        .where("id", "=", row.id)
        .where("options", "=", row.options)
        .executeTakeFirst();
      if (r.numUpdatedRows > 0n) moved += 1;
    }
    return moved;
  }

  /** Every sealed header set, raw (for key rotation). */
  async listSealedHeaders(): Promise<Array<{ id: string; ciphertext: string }>> {
    const rows = await this.db
      .selectFrom("providers")
      .select(["id", "headers_ciphertext"])
      .where("headers_ciphertext", "is not", null)
      .execute();
    return rows.map((r) => ({ id: r.id, ciphertext: r.headers_ciphertext! }));
  }

  /** Replaces a sealed header set only if it is still `expected`. */
  async replaceSealedHeaders(id: string, expected: string, ciphertext: string): Promise<boolean> {
    const r = await this.db
      .updateTable("providers")
      .set({ headers_ciphertext: ciphertext })
      .where("id", "=", id)
      .where("headers_ciphertext", "=", expected)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  private sealedHeaders(id: string, headers: Record<string, string>) {
    const names = Object.keys(headers);
    return {
      headers_ciphertext: names.length ? this.box.seal(JSON.stringify(headers), providerHeadersAad(id)) : null,
      header_names: toJson(names),
    };
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
          ...(patch.options !== undefined ? { options: storedOptions(patch.options) } : {}),
          ...(patch.headers !== undefined ? this.sealedHeaders(id, patch.headers) : {}),
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
