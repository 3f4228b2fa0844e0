import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { AuditQuery } from "../schemas.ts";

/** The audit log, newest first: admin only (it names users, IPs and what they did). */
export async function auditRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get("/api/audit", { schema: { querystring: AuditQuery }, config: { role: "admin" } }, async (request) => {
    return ctx.repos.audit.list(request.query);
  });
}
