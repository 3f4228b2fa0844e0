import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { withNames } from "../../services/audit-view.ts";
import { AuditQuery } from "../schemas.ts";

/**
 * The audit log, newest first: admin only (it names users, IPs and what they did). Each entry also
 * carries `targetName` and `links`, what its references are called now (one query per kind).
 */
export async function auditRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get("/api/audit", { schema: { querystring: AuditQuery }, config: { role: "admin" } }, async (request) => {
    return withNames(await ctx.repos.audit.list(request.query), ctx.repos.auditNames);
  });
}
