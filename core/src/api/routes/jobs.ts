import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { describeCron, nextFireTimes } from "../../scheduler/cron.ts";
import { requireRole } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { CronPreviewBody, IdParams, JobBody, JobPatch, RunBody } from "../schemas.ts";

export async function jobRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/jobs", { schema: { body: JobBody }, preHandler: requireRole("operator") }, async (request, reply) => {
    const job = await ctx.jobs.create(request.body);
    reply.code(201);
    return job;
  });

  r.get("/api/jobs", async () => ctx.jobs.list());

  r.get("/api/jobs/:id", { schema: { params: IdParams } }, async (request) => {
    return ctx.jobs.view(await ctx.jobs.get(request.params.id));
  });

  r.patch(
    "/api/jobs/:id",
    { schema: { params: IdParams, body: JobPatch }, preHandler: requireRole("operator") },
    async (request) => ctx.jobs.update(request.params.id, request.body),
  );

  r.delete("/api/jobs/:id", { schema: { params: IdParams }, preHandler: requireRole("operator") }, async (request) => {
    await ctx.jobs.delete(request.params.id);
    return { ok: true };
  });

  r.post(
    "/api/jobs/:id/run",
    { schema: { params: IdParams, body: RunBody }, preHandler: requireRole("operator") },
    async (request, reply) => {
      const job = await ctx.jobs.get(request.params.id);
      const run = await ctx.runs.start(job, "manual", request.body?.input);
      reply.code(202);
      return { runId: run.id };
    },
  );

  /** For the job form: a cron's plain-language description and next five fire times. */
  r.post("/api/cron/preview", { schema: { body: CronPreviewBody } }, async (request) => {
    try {
      return {
        description: describeCron(request.body),
        nextRuns: nextFireTimes(request.body, 5).map((d) => d.toISOString()),
      };
    } catch (error) {
      throw new ApiError("validation_failed", error instanceof Error ? error.message : String(error));
    }
  });
}
