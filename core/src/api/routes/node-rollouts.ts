import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { actorOf } from "../auth.ts";
import { IdParams } from "../schemas.ts";

/** POST /api/nodes/update: exactly one of `nodeIds` and `selector`. */
export const NodeUpdateBody = z
  .object({
    nodeIds: z.array(z.string().min(1).max(200)).min(1).max(10_000).optional(),
    selector: z.string().min(1).max(1024).optional(),
    /** Nodes updated at a time. */
    batchSize: z.number().int().min(1).max(10_000).default(1),
    /** Failed Nodes (refused, rolled back, timed out) a batch may have before the rollout pauses. */
    maxFailures: z.number().int().min(0).max(10_000).default(0),
    /** How long a Node has to come back on the new version before it counts as timed out. */
    deadlineSeconds: z.number().int().min(5).max(86_400).optional(),
  })
  .strict()
  .refine((b) => (b.nodeIds === undefined) !== (b.selector === undefined), {
    message: "give exactly one of nodeIds and selector",
  });

const ListQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(20) });

/** Staged Node rollout (issue 18; services/node-rollout.ts). */
export async function nodeRolloutRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/api/nodes/update",
    { schema: { body: NodeUpdateBody }, config: { role: "admin" } },
    async (request, reply) => {
      const who = actorOf(request);
      const rollout = await ctx.rollouts.begin(request.body, who.actor);
      await ctx.audit.recordBy(who, "node.rollout.start", rollout.id, {
        version: rollout.version,
        target: rollout.target,
        batchSize: rollout.batchSize,
        maxFailures: rollout.maxFailures,
        nodes: rollout.nodes.length,
      });
      reply.code(201);
      return rollout;
    },
  );

  r.get("/api/nodes/rollouts", { schema: { querystring: ListQuery }, config: { role: "viewer" } }, async (request) => ({
    policy: ctx.rollouts.policy,
    rollouts: await ctx.rollouts.list(request.query.limit),
  }));

  r.get("/api/nodes/rollouts/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) =>
    ctx.rollouts.get(request.params.id),
  );

  r.post(
    "/api/nodes/rollouts/:id/cancel",
    { schema: { params: IdParams }, config: { role: "admin" } },
    async (request) => {
      const rollout = await ctx.rollouts.cancel(request.params.id);
      await ctx.audit.recordBy(actorOf(request), "node.rollout.cancel", rollout.id, { version: rollout.version });
      return rollout;
    },
  );

  r.post(
    "/api/nodes/rollouts/:id/resume",
    { schema: { params: IdParams }, config: { role: "admin" } },
    async (request) => {
      const rollout = await ctx.rollouts.resume(request.params.id);
      await ctx.audit.recordBy(actorOf(request), "node.rollout.resume", rollout.id, { version: rollout.version });
      return rollout;
    },
  );
}
