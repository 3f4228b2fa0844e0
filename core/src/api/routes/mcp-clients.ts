import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { actorOf } from "../auth.ts";
import { IdParams } from "../schemas.ts";

const ApprovalsQuery = z.object({
  status: z.enum(["pending", "approved", "denied", "expired"]).optional(),
});
const McpDecisionBody = z.object({ reason: z.string().min(1).max(2000).optional() }).optional();
const CallsQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/**
 * What MCP clients (LM Studio, Claude Desktop, editors) did and wait for through `/mcp`: the
 * calls their tokens' approval policies hold, decided here, and the calls made (from the audit
 * log, which names the user and the token of each).
 */
export async function mcpClientRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/api/mcp/approvals",
    { schema: { querystring: ApprovalsQuery }, config: { role: "operator" } },
    async (request) => ctx.mcpApprovals.list(request.query.status),
  );
  r.post(
    "/api/mcp/approvals/:id/approve",
    { schema: { params: IdParams, body: McpDecisionBody }, config: { role: "operator" } },
    async (request) =>
      ctx.mcpApprovals.decide(request.params.id, { approved: true, reason: request.body?.reason }, actorOf(request)),
  );
  r.post(
    "/api/mcp/approvals/:id/deny",
    { schema: { params: IdParams, body: McpDecisionBody }, config: { role: "operator" } },
    async (request) =>
      ctx.mcpApprovals.decide(request.params.id, { approved: false, reason: request.body?.reason }, actorOf(request)),
  );
  r.get("/api/mcp/calls", { schema: { querystring: CallsQuery }, config: { role: "operator" } }, async (request) => {
    const entries = await ctx.repos.audit.list({ action: "mcp.tool.call", limit: request.query.limit });
    return entries.map((e) => ({
      id: e.id,
      at: e.at,
      user: e.actor,
      token: (e.detail as { token?: string | null }).token ?? null,
      target: e.target,
      outcome: e.outcome,
      detail: e.detail,
    }));
  });
}
