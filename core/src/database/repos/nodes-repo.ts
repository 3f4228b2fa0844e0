import type { ToolDescriptor } from "@fabricore/protocol";
import type { Kysely } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { isUniqueViolation, translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, NodeRow } from "../schema.ts";
import type { FleetNode, NewNode, NodeHello } from "../types.ts";

function toNode(row: NodeRow): FleetNode {
  return {
    id: row.id,
    name: row.name,
    labels: parseJsonOr<Record<string, string>>(row.labels, "nodes.labels", {}),
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    version: row.version,
    hostname: row.hostname,
    os: row.os,
    arch: row.arch,
    tools: parseJsonOr<ToolDescriptor[]>(row.tools, "nodes.tools", []),
    publicKey: row.public_key ?? null,
    keyRegisteredAt: row.key_registered_at ?? null,
    tokenUsedAt: row.token_used_at ?? null,
  };
}

export class NodesRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /** Throws DatabaseError `conflict` when the name is taken. */
  async create(input: NewNode): Promise<FleetNode> {
    const row = await translateConstraint(`node ${input.name}`, () =>
      this.db
        .insertInto("nodes")
        .values({
          id: newId(),
          name: input.name,
          labels: toJson(input.labels ?? {}),
          token_hash: input.tokenHash,
          created_at: isoNow(this.clock),
          last_seen_at: null,
          version: null,
          hostname: null,
          os: null,
          arch: null,
          tools: "[]",
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toNode(row);
  }

  /** Renames and/or relabels (labels replaced whole). Throws DatabaseError `conflict` when the new
   * name is taken; undefined when there is no such Node. */
  async update(id: string, patch: { name?: string; labels?: Record<string, string> }): Promise<FleetNode | undefined> {
    const set = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.labels !== undefined ? { labels: toJson(patch.labels) } : {}),
    };
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await translateConstraint(`node ${patch.name ?? id}`, () =>
      this.db.updateTable("nodes").set(set).where("id", "=", id).returningAll().executeTakeFirst(),
    );
    return row && toNode(row);
  }

  async list(): Promise<FleetNode[]> {
    const rows = await this.db.selectFrom("nodes").selectAll().orderBy("name").execute();
    return rows.map(toNode);
  }

  async get(id: string): Promise<FleetNode | undefined> {
    const row = await this.db.selectFrom("nodes").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toNode(row);
  }

  async getByName(name: string): Promise<FleetNode | undefined> {
    const row = await this.db.selectFrom("nodes").selectAll().where("name", "=", name).executeTakeFirst();
    return row && toNode(row);
  }

  /** By id first, then by name: jobs and routes accept either. */
  async resolve(idOrName: string): Promise<FleetNode | undefined> {
    return (await this.get(idOrName)) ?? (await this.getByName(idOrName));
  }

  async findByTokenHash(tokenHash: string): Promise<FleetNode | undefined> {
    const row = await this.db.selectFrom("nodes").selectAll().where("token_hash", "=", tokenHash).executeTakeFirst();
    return row && toNode(row);
  }

  async recordHello(id: string, hello: NodeHello): Promise<void> {
    await this.db
      .updateTable("nodes")
      .set({
        version: hello.version,
        hostname: hello.hostname,
        os: hello.os,
        arch: hello.arch,
        tools: toJson(hello.tools),
        last_seen_at: hello.at,
      })
      .where("id", "=", id)
      .execute();
  }

  async recordSeen(id: string, at: string): Promise<void> {
    await this.db.updateTable("nodes").set({ last_seen_at: at }).where("id", "=", id).execute();
  }

  async updateTools(id: string, tools: ToolDescriptor[]): Promise<void> {
    await this.db
      .updateTable("nodes")
      .set({ tools: toJson(tools) })
      .where("id", "=", id)
      .execute();
  }

  /**
   * Registers the Node's public key and spends the enrollment token, atomically: only the request
   * that still finds this token unspent wins, so one token registers one key. The previous key (a
   * rotation) stops working in the same write.
   */
  async registerKey(id: string, tokenHash: string, publicKey: string): Promise<boolean> {
    const now = isoNow(this.clock);
    const r = await this.db
      .updateTable("nodes")
      .set({ public_key: publicKey, key_registered_at: now, token_used_at: now })
      .where("id", "=", id)
      .where("token_hash", "=", tokenHash)
      .where("token_used_at", "is", null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** A new enrollment token (rotation); the registered key keeps working until the token registers another. */
  async replaceToken(id: string, tokenHash: string): Promise<boolean> {
    const r = await this.db
      .updateTable("nodes")
      .set({ token_hash: tokenHash, token_used_at: null })
      .where("id", "=", id)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Records a challenge nonce as used; false when it already was (a replay). */
  async useNonce(nonce: string, expiresAt: string): Promise<boolean> {
    try {
      await this.db.insertInto("node_nonces").values({ nonce, expires_at: expiresAt }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Forgets nonces past their expiry: they are refused as expired before this table is consulted. */
  async purgeNonces(before: string): Promise<void> {
    await this.db.deleteFrom("node_nonces").where("expires_at", "<", before).execute();
  }

  /** Deleting the row revokes the token (it is only a hash on this row); MCP specs cascade. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("nodes").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
