import type { Kysely, Selectable } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { translateConstraint } from "../errors.ts";
import { newId } from "../ids.ts";
import { parseJson } from "../json.ts";
import type { ApiTokensTable, Database } from "../schema.ts";
import type { ApiToken, ApprovalPolicy, NewApiToken, TokenScopes, User } from "../types.ts";
import { toUser } from "./users-repo.ts";

type TokenRow = Selectable<ApiTokensTable>;

const TOKEN_COLUMNS = [
  "id",
  "user_id",
  "name",
  "kind",
  "created_at",
  "expires_at",
  "last_used_at",
  "role",
  "scopes",
  "mcp_approval",
] as const;

function toToken(row: Pick<TokenRow, (typeof TOKEN_COLUMNS)[number]>): ApiToken {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    kind: row.kind,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    role: row.role ?? null,
    scopes: row.scopes ? parseJson<TokenScopes>(row.scopes, "api_tokens.scopes") : null,
    mcpApproval: row.mcp_approval ? parseJson<ApprovalPolicy>(row.mcp_approval, "api_tokens.mcp_approval") : null,
  };
}

export class TokensRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  async create(input: NewApiToken): Promise<ApiToken> {
    const row = await translateConstraint(`token ${input.name}`, () =>
      this.db
        .insertInto("api_tokens")
        .values({
          id: newId(),
          user_id: input.userId,
          name: input.name,
          token_hash: input.tokenHash,
          kind: input.kind,
          created_at: isoNow(this.clock),
          expires_at: input.expiresAt ?? null,
          last_used_at: null,
          role: input.role ?? null,
          scopes: input.scopes ? JSON.stringify(input.scopes) : null,
          mcp_approval: input.mcpApproval ? JSON.stringify(input.mcpApproval) : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toToken(row);
  }

  /** The token with this hash and its user, unless it expired (ISO text compares as time). */
  async findActiveByHash(tokenHash: string): Promise<{ token: ApiToken; user: User } | undefined> {
    const now = isoNow(this.clock);
    const row = await this.db
      .selectFrom("api_tokens as t")
      .innerJoin("users as u", "u.id", "t.user_id")
      .select([
        "t.id",
        "t.user_id",
        "t.name",
        "t.kind",
        "t.created_at",
        "t.expires_at",
        "t.last_used_at",
        "t.role as token_role",
        "t.scopes",
        "t.mcp_approval",
        "u.username",
        "u.password_hash",
        "u.role",
        "u.failed_logins",
        "u.locked_until",
        "u.created_at as user_created_at",
      ])
      .where("t.token_hash", "=", tokenHash)
      .where((eb) => eb.or([eb("t.expires_at", "is", null), eb("t.expires_at", ">", now)]))
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      token: toToken({ ...row, role: row.token_role }),
      user: toUser({
        id: row.user_id,
        username: row.username,
        password_hash: row.password_hash,
        role: row.role,
        failed_logins: row.failed_logins,
        locked_until: row.locked_until,
        created_at: row.user_created_at,
      }),
    };
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable("api_tokens").set({ last_used_at: at }).where("id", "=", id).execute();
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("api_tokens").where("id", "=", id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }

  async deleteForUser(userId: string): Promise<number> {
    const r = await this.db.deleteFrom("api_tokens").where("user_id", "=", userId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async listForUser(userId: string): Promise<ApiToken[]> {
    const rows = await this.db
      .selectFrom("api_tokens")
      .select(TOKEN_COLUMNS)
      .where("user_id", "=", userId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .execute();
    return rows.map(toToken);
  }

  /** Housekeeping: drops tokens that expired before `before`; returns how many. */
  async deleteExpired(before: string): Promise<number> {
    const r = await this.db
      .deleteFrom("api_tokens")
      .where("expires_at", "is not", null)
      .where("expires_at", "<=", before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
