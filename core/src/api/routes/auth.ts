import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { CoreError } from "../../errors.ts";
import { loginActor } from "../../services/login-guard.ts";
import { actorOf, principalOf, SESSION_COOKIE } from "../auth.ts";
import { IdParams, LoginBody, PasswordChangeBody, TokenBody } from "../schemas.ts";

const SESSION_DAYS = 7;

export async function authRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  /**
   * Two brakes on password guessing, both counted atomically in the database before the password
   * is checked (issue 15.5): the per-address limit (LoginGuard: FABRICORE_LOGIN_FAILURES_PER_MINUTE
   * failures, then 429 for the rest of the minute), which also covers guessing across many
   * usernames, and the per-user lockout (Accounts.login: 5 failures lock the user for 5 minutes).
   * Attempts are audited; refusals by the address limit once per address and window (LoginGuard).
   */
  r.post("/api/auth/login", { schema: { body: LoginBody }, config: { role: "public" } }, async (request, reply) => {
    const { username } = request.body;
    const actor = loginActor(username);
    const audit = (outcome: "ok" | "failed" | "denied", reason?: string, extra: Record<string, unknown> = {}) =>
      ctx.audit.record({
        actor,
        ip: request.ip,
        action: outcome === "ok" ? "auth.login" : "auth.login_failed",
        target: actor,
        outcome,
        detail: reason ? { reason, ...extra } : {},
      });
    const claim = await ctx.loginGuard.claim(request.ip);
    if (!claim.allowed) {
      if (claim.firstRefusal) {
        await audit("denied", "rate_limited", {
          note: "later refusals from this address in this window are summed into one entry when it ends",
        });
      }
      reply.header("retry-after", String(claim.retryAfterSeconds));
      throw new CoreError("rate_limited", "too many failed logins from this address; try again in a minute");
    }
    let token: Awaited<ReturnType<typeof ctx.accounts.login>>;
    try {
      token = await ctx.accounts.login(username, request.body.password, SESSION_DAYS);
    } catch (error) {
      if (error instanceof CoreError) await audit(error.code === "locked" ? "denied" : "failed", error.code);
      throw error;
    }
    await claim.release();
    await audit("ok");
    reply.setCookie(SESSION_COOKIE, token.token, {
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      secure: ctx.tls,
      maxAge: SESSION_DAYS * 86400,
    });
    return { token: token.token, expiresAt: token.expiresAt, user: token.user };
  });

  r.post("/api/auth/logout", { config: { role: "viewer" } }, async (request, reply) => {
    await ctx.accounts.revokeToken(principalOf(request).tokenId);
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return { ok: true };
  });

  /**
   * Changes the caller's own password (every role). Every session and token of the user ends; this
   * session is replaced by a new one (cookie and token), so the person stays signed in here. Only
   * from a session: an API token is no proof of knowing the password, and it is ended too.
   */
  r.post(
    "/api/auth/password",
    { schema: { body: PasswordChangeBody }, config: { role: "viewer" } },
    async (request, reply) => {
      const p = principalOf(request);
      if (p.tokenKind === "api")
        throw new CoreError("forbidden", "sign in to change your password; an API token cannot");
      await ctx.accounts.changeOwnPassword(p.userId, request.body.currentPassword, request.body.newPassword);
      await ctx.audit.recordBy(actorOf(request), "user.password", p.userId, { username: p.username, self: true });
      const token = await ctx.accounts.login(p.username, request.body.newPassword, SESSION_DAYS);
      reply.setCookie(SESSION_COOKIE, token.token, {
        httpOnly: true,
        sameSite: "strict",
        path: "/",
        secure: ctx.tls,
        maxAge: SESSION_DAYS * 86400,
      });
      return { token: token.token, expiresAt: token.expiresAt, user: token.user };
    },
  );

  r.get("/api/auth/me", { config: { role: "viewer" } }, async (request) => {
    const p = principalOf(request);
    return { id: p.userId, username: p.username, role: p.role };
  });

  /** API tokens are self-service for every role: a token carries at most its owner's role (a
   * lower `role` may be asked for), and `scopes` can narrow it to some Nodes and tools. A scoped
   * token cannot make tokens: it would mint itself a wider one. */
  r.post("/api/tokens", { schema: { body: TokenBody }, config: { role: "viewer" } }, async (request, reply) => {
    const p = principalOf(request);
    if (p.scopes) throw new CoreError("forbidden", "a scoped token cannot create tokens");
    const { name, role, scopes, mcpApproval } = request.body;
    const created = await ctx.accounts.createApiToken({ userId: p.userId, role: p.role }, name, {
      role,
      scopes,
      mcpApproval,
    });
    await ctx.audit.recordBy(actorOf(request), "token.create", created.id, {
      name: created.name,
      role: created.role,
      scopes,
    });
    reply.code(201);
    return created;
  });

  /** The caller's API tokens with `lastUsedAt` (updated at most once a minute), never the token. */
  r.get("/api/tokens", { config: { role: "viewer" } }, async (request) => {
    const p = principalOf(request);
    return ctx.accounts.listApiTokens({ userId: p.userId, role: p.role });
  });

  r.delete("/api/tokens/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) => {
    const p = principalOf(request);
    const ok = await ctx.accounts.revokeApiToken(p.userId, request.params.id);
    if (!ok) throw new CoreError("not_found", "token not found");
    await ctx.audit.recordBy(actorOf(request), "token.revoke", request.params.id);
    return { ok: true };
  });
}
