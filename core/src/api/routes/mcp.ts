import { MCP_LOG_LINES_MAX } from "@fabricore/protocol";
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

  const ServerParams = IdParams.extend({ name: z.string().min(1).max(100) });

  r.post(
    "/api/nodes/:id/mcp/:name/restart",
    { schema: { params: ServerParams }, config: { role: "admin" } },
    async (request) => {
      const { id, name } = request.params;
      const server = await ctx.mcp.restart(id, name);
      await ctx.audit.recordBy(actorOf(request), "mcp.restart", `${id}/${name}`, { state: server.state });
      return server;
    },
  );

  r.get(
    "/api/nodes/:id/mcp/:name/logs",
    {
      schema: {
        params: ServerParams,
        querystring: z.object({
          tail: z.coerce.number().int().min(1).max(MCP_LOG_LINES_MAX).default(200),
        }),
      },
      config: { role: "operator" },
    },
    async (request) => ctx.mcp.logs(request.params.id, request.params.name, request.query.tail),
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
