import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { actorOf } from "../auth.ts";
import { IdParams, McpBody } from "../schemas.ts";

export async function mcpRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get("/api/mcp/presets", { config: { role: "viewer" } }, async () => ctx.mcp.presets());

  r.post(
    "/api/nodes/:id/mcp",
    { schema: { params: IdParams, body: McpBody }, config: { role: "admin" } },
    async (request, reply) => {
      const server = await ctx.mcp.add(request.params.id, request.body);
      await ctx.audit.recordBy(actorOf(request), "mcp.add", `${request.params.id}/${server.name}`, {
        kind: server.kind,
        ...("image" in server ? { image: server.image, preset: server.preset } : {}),
      });
      reply.code(201);
      return server;
    },
  );

  r.get("/api/nodes/:id/mcp", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) =>
    ctx.mcp.list(request.params.id),
  );

  r.delete(
    "/api/nodes/:id/mcp/:name",
    { schema: { params: IdParams.extend({ name: z.string().min(1).max(100) }) }, config: { role: "admin" } },
    async (request) => {
      await ctx.mcp.remove(request.params.id, request.params.name);
      await ctx.audit.recordBy(actorOf(request), "mcp.remove", `${request.params.id}/${request.params.name}`);
      return { ok: true };
    },
  );
}
