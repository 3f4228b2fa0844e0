import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { requireRole } from "../auth.ts";
import { IdParams, NodeBody } from "../schemas.ts";

export async function nodeRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/nodes", { schema: { body: NodeBody }, preHandler: requireRole("admin") }, async (request, reply) => {
    const created = await ctx.fleet.enroll(request.body.name, request.body.labels);
    reply.code(201);
    return created;
  });

  r.get("/api/nodes", async () => ctx.fleet.list());

  r.get("/api/nodes/:id", { schema: { params: IdParams } }, async (request) => {
    return ctx.fleet.view(await ctx.fleet.get(request.params.id), true);
  });

  r.delete("/api/nodes/:id", { schema: { params: IdParams }, preHandler: requireRole("admin") }, async (request) => {
    await ctx.fleet.revoke(request.params.id);
    return { ok: true };
  });
}
