import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { requireRole } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { NameParams, SecretBody } from "../schemas.ts";

/** Write-only: values go in, only names and dates come out. */
export async function secretRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/secrets", { schema: { body: SecretBody }, preHandler: requireRole("admin") }, async (request, reply) => {
    const info = await ctx.repos.secrets.put(request.body.name, request.body.value);
    reply.code(201);
    return { name: info.name, createdAt: info.createdAt, updatedAt: info.updatedAt };
  });

  r.get("/api/secrets", async () => ctx.repos.secrets.list());

  r.delete(
    "/api/secrets/:name",
    { schema: { params: NameParams }, preHandler: requireRole("admin") },
    async (request) => {
      if (!(await ctx.repos.secrets.delete(request.params.name))) throw new ApiError("not_found", "secret not found");
      return { ok: true };
    },
  );
}
