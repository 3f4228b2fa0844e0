import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { STATS_BUCKET_MS } from "../../nodes/node-stats-recorder.ts";
import { actorOf } from "../auth.ts";
import { IdParams, NodeBody, NodePatch, NodeStatsHistoryQuery, NodesQuery } from "../schemas.ts";

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
    return ctx.fleet.show(request.params.id);
  });

  // The Node page's sparklines (issue 22.5): its heartbeats' stats per 5-minute bucket.
  r.get(
    "/api/nodes/:id/stats/history",
    { schema: { params: IdParams, querystring: NodeStatsHistoryQuery }, config: { role: "viewer" } },
    async (request) => {
      const node = await ctx.fleet.get(request.params.id);
      const since = new Date(Date.now() - request.query.hours * 3600_000).toISOString();
      return { bucketSeconds: STATS_BUCKET_MS / 1000, points: await ctx.repos.nodeStats.history(node.id, since) };
    },
  );

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
