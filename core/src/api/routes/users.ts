import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { CoreError } from "../../errors.ts";
import { actorOf, principalOf } from "../auth.ts";
import { IdParams, UserBody, UserPatch } from "../schemas.ts";

/** Users and their roles: admin only. admin: everything; operator: runs and edits jobs, approves
 * tool calls; viewer: reads (never a secret value or a token). */
export async function userRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get("/api/users", { config: { role: "admin" } }, async () => ctx.accounts.listUsers());

  r.post("/api/users", { schema: { body: UserBody }, config: { role: "admin" } }, async (request, reply) => {
    const user = await ctx.accounts.createUser(request.body.username, request.body.password, request.body.role);
    await ctx.audit.recordBy(actorOf(request), "user.create", user.id, { username: user.username, role: user.role });
    reply.code(201);
    return user;
  });

  r.patch(
    "/api/users/:id",
    { schema: { params: IdParams, body: UserPatch }, config: { role: "admin" } },
    async (request) => {
      const user = await ctx.accounts.updateUser(request.params.id, request.body);
      await ctx.audit.recordBy(actorOf(request), "user.update", user.id, {
        username: user.username,
        ...(request.body.role ? { role: request.body.role } : {}),
        passwordChanged: request.body.password !== undefined,
      });
      return user;
    },
  );

  r.delete("/api/users/:id", { schema: { params: IdParams }, config: { role: "admin" } }, async (request) => {
    if (request.params.id === principalOf(request).userId) {
      throw new CoreError("conflict", "you cannot delete yourself");
    }
    await ctx.accounts.deleteUser(request.params.id);
    await ctx.audit.recordBy(actorOf(request), "user.delete", request.params.id);
    return { ok: true };
  });
}
