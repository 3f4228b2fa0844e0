import type { FastifyInstance } from "fastify";
import type { CoreContext } from "../../core-context.ts";

export async function healthRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  app.get("/healthz", async () => ({
    status: "ok",
    version: ctx.version,
    uptimeSeconds: Math.round((Date.now() - ctx.startedAt.getTime()) / 1000),
    nodesOnline: ctx.hub.onlineCount(),
    runsActive: ctx.queue.activeCount,
  }));

  app.get("/metrics", async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  /** The dashboard's numbers in one call. */
  app.get("/api/overview", { config: { role: "viewer" } }, async () => {
    const nodes = await ctx.fleet.list();
    const since = new Date(Date.now() - 86_400_000).toISOString();
    const jobs = await ctx.jobs.list();
    return {
      nodes: { online: nodes.filter((n) => n.status === "online").length, total: nodes.length },
      runsLast24h: await ctx.repos.runs.countByStatusSince(since),
      nextFires: jobs
        .filter((j) => j.schedule?.nextFireAt)
        .map((j) => ({ jobId: j.id, name: j.name, at: j.schedule!.nextFireAt! }))
        .sort((a, b) => a.at.localeCompare(b.at))
        .slice(0, 10),
    };
  });
}
