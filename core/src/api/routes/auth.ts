import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { principalOf, SESSION_COOKIE } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { LoginBody, TokenBody } from "../schemas.ts";

const SESSION_DAYS = 7;

export async function authRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/auth/login", { schema: { body: LoginBody }, config: { public: true } }, async (request, reply) => {
    const token = await ctx.accounts.login(request.body.username, request.body.password, SESSION_DAYS);
    reply.setCookie(SESSION_COOKIE, token.token, {
      httpOnly: true,
      sameSite: "strict",
      path: "/",
      secure: ctx.tls,
      maxAge: SESSION_DAYS * 86400,
    });
    return { token: token.token, expiresAt: token.expiresAt, user: token.user };
  });

  r.post("/api/auth/logout", async (request, reply) => {
    await ctx.accounts.revokeToken(principalOf(request).tokenId);
    reply.clearCookie(SESSION_COOKIE, { path: "/" });
    return { ok: true };
  });

  r.get("/api/auth/me", async (request) => {
    const p = principalOf(request);
    return { id: p.userId, username: p.username, role: p.role };
  });

  r.post("/api/tokens", { schema: { body: TokenBody } }, async (request, reply) => {
    const p = principalOf(request);
    const created = await ctx.accounts.createApiToken(p.userId, request.body.name);
    reply.code(201);
    return created;
  });

  r.get("/api/tokens", async (request) => {
    return ctx.accounts.listApiTokens(principalOf(request).userId);
  });

  r.delete("/api/tokens/:id", async (request) => {
    const { id } = request.params as { id: string };
    const p = principalOf(request);
    const ok = await ctx.accounts.revokeApiToken(p.userId, id);
    if (!ok) throw new ApiError("not_found", "token not found");
    return { ok: true };
  });
}
