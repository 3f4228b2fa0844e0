import type { TokensRepo, UsersRepo } from "../database/index.ts";
import type { Role } from "../database/schema.ts";
import type { ApiToken, ApprovalPolicy, TokenScopes } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { generateToken, hashPassword, hashToken, verifyPassword } from "../secrets/index.ts";

/** Who an authenticated request or MCP call acts as: the token, its owner and its limits. */
export interface Principal {
  userId: string;
  username: string;
  role: Role;
  tokenId: string;
  tokenKind?: "session" | "api";
  via: "bearer" | "cookie";
  /** The API token's name (absent for sessions): audit entries of MCP calls name it. */
  tokenName?: string;
  /** A scoped token's limits (Nodes by selector, tools by name); absent: none. */
  scopes?: TokenScopes;
  /** Which of this token's MCP tool calls wait for an operator; absent: none. */
  mcpApproval?: ApprovalPolicy;
  /** Set when this is the token's first use in a minute (its last-used time was updated); the
   * app audits such uses, so the log shows each token in use without a row per request. */
  firstUseThisMinute?: boolean;
}

const MAX_FAILED_LOGINS = 5;
const LOCKOUT_MS = 5 * 60_000;
const TOUCH_EVERY_MS = 60_000;

/** Users, sessions and API tokens. Tokens are random, shown once, stored only as SHA-256. */
export class Accounts {
  private readonly users: UsersRepo;
  private readonly tokens: TokensRepo;
  private readonly now: () => Date;

  constructor(deps: { users: UsersRepo; tokens: TokensRepo; now?: () => Date }) {
    this.users = deps.users;
    this.tokens = deps.tokens;
    this.now = deps.now ?? (() => new Date());
  }

  /** First start: creates `admin` with the given password or a random one, which is returned so
   * the caller can print it once. Later starts: nothing. */
  async ensureAdmin(password: string | undefined): Promise<{ created: boolean; password?: string }> {
    if ((await this.users.count()) > 0) return { created: false };
    const chosen =
      password ??
      generateToken("")
        .replace(/[^a-zA-Z0-9]/g, "")
        .slice(0, 20);
    await this.users.create({ username: "admin", passwordHash: await hashPassword(chosen), role: "admin" });
    return { created: true, password: password ? undefined : chosen };
  }

  async createUser(username: string, password: string, role: Role) {
    if (await this.users.findByUsername(username)) throw new CoreError("conflict", `user ${username} exists`);
    const user = await this.users.create({ username, passwordHash: await hashPassword(password), role });
    return { id: user.id, username: user.username, role: user.role };
  }

  /**
   * The per-user lockout: an attempt is taken from the user's budget atomically BEFORE the
   * password is checked (issue 15.5), so of a burst of parallel attempts at most
   * MAX_FAILED_LOGINS are evaluated; the one that uses the last locks the user for LOCKOUT_MS.
   * A success gives the budget back.
   */
  async login(username: string, password: string, sessionDays: number) {
    const user = await this.users.findByUsername(username);
    const now = this.now();
    if (user) {
      const attempt = await this.users.claimLoginAttempt(user.id, {
        max: MAX_FAILED_LOGINS,
        lockUntil: new Date(now.getTime() + LOCKOUT_MS).toISOString(),
      });
      if (attempt === undefined) throw new CoreError("locked", "too many failed logins; try again later");
    }
    // Verify against a dummy hash when the user does not exist, so timing does not reveal names.
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw new CoreError("unauthorized", "wrong username or password");
    await this.users.resetFailedLogins(user.id);
    const token = generateToken("fcs_");
    const expiresAt = new Date(now.getTime() + sessionDays * 86_400_000).toISOString();
    await this.tokens.create({
      userId: user.id,
      name: "session",
      tokenHash: hashToken(token),
      kind: "session",
      expiresAt,
    });
    return { token, expiresAt, user: { id: user.id, username: user.username, role: user.role } };
  }

  async authenticate(token: string, via: Principal["via"]): Promise<Principal | undefined> {
    const found = await this.tokens.findActiveByHash(hashToken(token));
    if (!found) return undefined;
    const now = this.now();
    const last = found.token.lastUsedAt ? Date.parse(found.token.lastUsedAt) : 0;
    const fresh = now.getTime() - last > TOUCH_EVERY_MS;
    if (fresh) await this.tokens.touch(found.token.id, now.toISOString());
    const { token: t, user } = found;
    return {
      userId: user.id,
      username: user.username,
      // A token never carries more than its owner has now (a demoted owner demotes the token).
      role: t.role && ROLE_RANK[t.role] < ROLE_RANK[user.role] ? t.role : user.role,
      tokenId: t.id,
      tokenKind: t.kind,
      via,
      ...(t.kind === "api" ? { tokenName: t.name } : {}),
      ...(t.scopes ? { scopes: t.scopes } : {}),
      ...(t.mcpApproval ? { mcpApproval: t.mcpApproval } : {}),
      ...(fresh ? { firstUseThisMinute: true } : {}),
    };
  }

  /** A token with the owner's role, or less: asking for more than the owner has is refused. */
  async createApiToken(
    owner: { userId: string; role: Role },
    name: string,
    limits: {
      role?: Role | undefined;
      scopes?: TokenScopes | undefined;
      mcpApproval?: ApprovalPolicy | undefined;
    } = {},
  ) {
    if (limits.role && ROLE_RANK[limits.role] > ROLE_RANK[owner.role]) {
      throw new CoreError("forbidden", `a token cannot have more than your own role (${owner.role})`);
    }
    const token = generateToken("fct_");
    const row = await this.tokens.create({
      userId: owner.userId,
      name,
      tokenHash: hashToken(token),
      kind: "api",
      role: limits.role && limits.role !== owner.role ? limits.role : null,
      scopes: limits.scopes ?? null,
      mcpApproval: limits.mcpApproval ?? null,
    });
    return { ...tokenView(row, owner.role), token };
  }

  async listApiTokens(owner: { userId: string; role: Role }) {
    const rows = await this.tokens.listForUser(owner.userId);
    return rows.filter((t) => t.kind === "api").map((t) => tokenView(t, owner.role));
  }

  async revokeApiToken(userId: string, tokenId: string): Promise<boolean> {
    const rows = await this.tokens.listForUser(userId);
    if (!rows.some((t) => t.id === tokenId)) return false;
    await this.tokens.delete(tokenId);
    return true;
  }

  async listUsers() {
    return (await this.users.list()).map((u) => ({
      id: u.id,
      username: u.username,
      role: u.role,
      createdAt: u.createdAt,
      lockedUntil: u.lockedUntil,
    }));
  }

  /** Changes a role or a password; the last admin cannot be demoted (nobody could undo it). */
  async updateUser(id: string, patch: { role?: Role | undefined; password?: string | undefined }) {
    const user = await this.users.findById(id);
    if (!user) throw new CoreError("not_found", "user not found");
    if (patch.role && patch.role !== "admin" && user.role === "admin" && (await this.adminCount()) <= 1) {
      throw new CoreError("conflict", "this is the last admin; make another user admin first");
    }
    if (patch.role) await this.users.setRole(id, patch.role);
    if (patch.password) {
      await this.users.setPasswordHash(id, await hashPassword(patch.password));
      // A new password ends every session and token made with the old one.
      await this.tokens.deleteForUser(id);
    }
    const after = (await this.users.findById(id))!;
    return { id: after.id, username: after.username, role: after.role, createdAt: after.createdAt };
  }

  /**
   * Any role changes its own password (issue 22.7), knowing the current one. Wrong guesses spend
   * the same budget as failed logins (a stolen session cannot brute-force the password through
   * here). The new password ends every session and token of the user, like an admin's change.
   */
  async changeOwnPassword(userId: string, current: string, next: string): Promise<void> {
    const user = await this.users.findById(userId);
    if (!user) throw new CoreError("not_found", "user not found");
    const attempt = await this.users.claimLoginAttempt(user.id, {
      max: MAX_FAILED_LOGINS,
      lockUntil: new Date(this.now().getTime() + LOCKOUT_MS).toISOString(),
    });
    if (attempt === undefined) throw new CoreError("locked", "too many wrong passwords; try again later");
    if (!(await verifyPassword(current, user.passwordHash))) {
      throw new CoreError("validation_failed", "the current password is not right", {
        fields: { currentPassword: "not your current password" },
      });
    }
    await this.users.resetFailedLogins(user.id);
    if (current === next) {
      throw new CoreError("validation_failed", "the new password is the current one", {
        fields: { newPassword: "choose a password you do not use now" },
      });
    }
    await this.users.setPasswordHash(user.id, await hashPassword(next));
    await this.tokens.deleteForUser(user.id);
  }

  async deleteUser(id: string): Promise<void> {
    const user = await this.users.findById(id);
    if (!user) throw new CoreError("not_found", "user not found");
    if (user.role === "admin" && (await this.adminCount()) <= 1) {
      throw new CoreError("conflict", "this is the last admin; make another user admin first");
    }
    await this.users.delete(id);
  }

  private async adminCount(): Promise<number> {
    return (await this.users.list()).filter((u) => u.role === "admin").length;
  }

  async revokeToken(tokenId: string): Promise<void> {
    await this.tokens.delete(tokenId);
  }
}

const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** What the API shows of a token: never the token itself or its hash. */
function tokenView(t: ApiToken, ownerRole: Role) {
  return {
    id: t.id,
    name: t.name,
    role: t.role ?? ownerRole,
    scopes: t.scopes,
    mcpApproval: t.mcpApproval,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
  };
}

// scrypt hash of a random string nobody knows; only used to spend the same time on unknown users.
const DUMMY_HASH = "scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w3q2+7w0";
