import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CoreContext } from "../core-context.ts";
import { CoreError } from "../errors.ts";
import { jobScopeRefusal, nodeInScope } from "../services/token-scopes.ts";

/** What a scoped token may do on the REST API besides reading: run a job inside its scope, end
 * its own session, revoke itself. Everything else that changes state is refused. */
const SCOPED_WRITES = new Set(["POST /api/jobs/:id/run", "POST /api/auth/logout", "DELETE /api/tokens/:id"]);
/** Reads about one Node: refused when that Node is outside the token's selector. */
const NODE_READS = new Set(["GET /api/nodes/:id", "GET /api/nodes/:id/mcp", "GET /api/nodes/:id/mcp/:name/logs"]);

/**
 * Scoped tokens (`scopes: {selector?, tools?}`) on the REST API, as on /mcp: Node listings show only
 * the Nodes the selector matches, a Node outside it is 403, a job runs only inside the scope, and
 * a scoped token changes nothing else. Runs of out-of-scope jobs stay readable (as for any token
 * of that role): a scope limits what the token can reach and do, not the history it reads.
 */
export function installTokenScopes(app: FastifyInstance, ctx: CoreContext): void {
  app.addHook("preHandler", async (request) => {
    const scopes = request.principal?.scopes;
    if (!scopes) return;
    const route = `${request.method} ${request.routeOptions.url ?? ""}`;
    if (request.method !== "GET" && request.method !== "HEAD" && !SCOPED_WRITES.has(route)) {
      throw new CoreError("forbidden", "a scoped token may read, and run jobs inside its scope; nothing else");
    }
    const id = (request.params as { id?: string } | undefined)?.id;
    if (NODE_READS.has(route) && id !== undefined) {
      const node = await ctx.fleet.get(id);
      if (!nodeInScope(scopes, node))
        throw new CoreError("forbidden", `node ${node.name} is outside this token's scope`);
    }
    if (route === "POST /api/jobs/:id/run" && id !== undefined) {
      const job = await ctx.jobs.get(id);
      const refusal = jobScopeRefusal(scopes, job, await ctx.repos.nodes.list());
      if (refusal) throw new CoreError("forbidden", refusal);
    }
  });
  app.addHook("preSerialization", async (request: FastifyRequest, _reply, payload) => {
    const scopes = request.principal?.scopes;
    if (!scopes?.selector || request.method !== "GET" || request.routeOptions.url !== "/api/nodes") return payload;
    if (!Array.isArray(payload)) return payload;
    return payload.filter((node: { labels?: Record<string, string> }) =>
      nodeInScope(scopes, { labels: node.labels ?? {} }),
    );
  });
}
