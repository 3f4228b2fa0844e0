import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { actorOf } from "../auth.ts";
import { IdParams, NodeBody, NodePatch, NodesQuery } from "../schemas.ts";

export async function nodeRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/nodes", { schema: { body: NodeBody }, config: { role: "admin" } }, async (request, reply) => {
    const created = await ctx.fleet.enroll(request.body.name, request.body.labels);
    await ctx.audit.recordBy(actorOf(request), "node.enroll", created.id, { name: created.name });
    reply.code(201);
    return created;
  });

  r.get("/api/nodes", { schema: { querystring: NodesQuery }, config: { role: "viewer" } }, async (request) =>
    ctx.fleet.list(request.query.selector),
  );

  r.get("/api/nodes/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) => {
    return ctx.fleet.view(await ctx.fleet.get(request.params.id), true);
  });

  r.patch(
    "/api/nodes/:id",
    { schema: { params: IdParams, body: NodePatch }, config: { role: "admin" } },
    async (request) => {
      const { before, after } = await ctx.fleet.update(request.params.id, request.body);
      await ctx.audit.recordBy(actorOf(request), "node.update", after.id, {
        name: after.name,
        ...(before.name !== after.name ? { renamedFrom: before.name } : {}),
        ...(request.body.labels !== undefined ? { labels: after.labels } : {}),
      });
      return after;
    },
  );

  r.delete("/api/nodes/:id", { schema: { params: IdParams }, config: { role: "admin" } }, async (request) => {
    const node = await ctx.fleet.get(request.params.id);
    await ctx.fleet.revoke(node.id);
    await ctx.audit.recordBy(actorOf(request), "node.revoke", node.id, { name: node.name });
    return { ok: true };
  });
}
