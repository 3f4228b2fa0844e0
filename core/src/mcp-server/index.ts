import type { Logger } from "@fabricore/protocol";
import type { FastifyInstance } from "fastify";
import { RateLimiter } from "../api/rate-limit.ts";
import type { CoreContext } from "../core-context.ts";
import { selectorMatches } from "../services/token-scopes.ts";
import { FleetCatalog } from "./fleet-catalog.ts";
import { FleetJobRunner } from "./fleet-job-runner.ts";
import { createFleetMcpServer } from "./fleet-mcp-server.ts";
import { FleetToolCaller } from "./fleet-tool-caller.ts";
import { mcpEndpoint } from "./mcp-endpoint.ts";

export { McpApprovals } from "./mcp-approvals.ts";

export interface FleetMcpOptions {
  toolDeadlineMs: number;
  /** Tool calls per token and minute. */
  callsPerMinute: number;
  /** Above this many Node tools, only the constant fleet tools are listed. */
  maxListedTools: number;
  logger: Pick<Logger, "warn" | "error">;
  watchMs?: number;
}

/** Mounts `/mcp`: the fleet's tools for MCP clients, under the tokens' roles, scopes and approvals. */
export async function mountFleetMcp(app: FastifyInstance, ctx: CoreContext, options: FleetMcpOptions): Promise<void> {
  const listNodes = () => ctx.repos.nodes.list();
  const catalog = new FleetCatalog({ listNodes, hub: ctx.hub, selectorMatches });
  const caller = new FleetToolCaller({
    hub: ctx.hub,
    audit: ctx.audit,
    redactor: ctx.redactor,
    toolDeadlineMs: options.toolDeadlineMs,
    limiter: new RateLimiter({ limit: options.callsPerMinute, windowMs: 60_000 }),
    approvals: ctx.mcpApprovals,
  });
  const jobs = new FleetJobRunner({
    getJob: (idOrName) => ctx.jobs.get(idOrName),
    startRun: (job, input, by) => ctx.runs.start(job, "manual", input, by),
    getRun: (id) => ctx.runs.get(id),
    cancelRun: (id, by) => ctx.runs.cancel(id, by),
    events: ctx.events,
    listNodes,
  });
  await app.register(async (scope) =>
    mcpEndpoint(scope, {
      authenticate: async (token) => {
        const principal = await ctx.accounts.authenticate(token, "bearer");
        if (principal?.firstUseThisMinute) {
          await ctx.audit.record({
            actor: principal.username,
            action: "token.use",
            target: principal.tokenId,
            detail: { kind: principal.tokenKind, via: "mcp" },
          });
        }
        return principal;
      },
      serverFor: (principal, onListed) =>
        createFleetMcpServer(
          { catalog, caller, jobs, version: ctx.version, maxListedTools: options.maxListedTools },
          principal,
          onListed,
        ),
      toolsDigest: async (principal) => (await catalog.build(principal.scopes)).digest,
      logger: options.logger,
      ...(options.watchMs ? { watchMs: options.watchMs } : {}),
    }),
  );
}
