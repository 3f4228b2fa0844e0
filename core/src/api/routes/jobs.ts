import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { CoreError } from "../../errors.ts";
import { describeCron, nextFireTimes } from "../../scheduler/cron.ts";
import { actorOf } from "../auth.ts";
import { CronPreviewBody, IdParams, JobBody, JobPatch, RunBody } from "../schemas.ts";

export async function jobRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/jobs", { schema: { body: JobBody }, config: { role: "operator" } }, async (request, reply) => {
    const job = await ctx.jobs.create(request.body);
    await ctx.audit.recordBy(actorOf(request), "job.create", job.id, {
      name: job.name,
      change: jobChange(request.body),
    });
    reply.code(201);
    return job;
  });

  r.get("/api/jobs", { config: { role: "viewer" } }, async () => ctx.jobs.list());

  r.get("/api/jobs/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) => {
    return ctx.jobs.view(await ctx.jobs.get(request.params.id));
  });

  r.patch(
    "/api/jobs/:id",
    { schema: { params: IdParams, body: JobPatch }, config: { role: "operator" } },
    async (request) => {
      const job = await ctx.jobs.update(request.params.id, request.body);
      await ctx.audit.recordBy(actorOf(request), "job.update", job.id, {
        name: job.name,
        change: jobChange(request.body),
      });
      return job;
    },
  );

  r.delete("/api/jobs/:id", { schema: { params: IdParams }, config: { role: "operator" } }, async (request) => {
    const job = await ctx.jobs.get(request.params.id);
    await ctx.jobs.delete(job.id);
    await ctx.audit.recordBy(actorOf(request), "job.delete", job.id, { name: job.name });
    return { ok: true };
  });

  r.post(
    "/api/jobs/:id/run",
    { schema: { params: IdParams, body: RunBody }, config: { role: "operator" } },
    async (request, reply) => {
      const job = await ctx.jobs.get(request.params.id);
      const run = await ctx.runs.start(job, "manual", request.body?.input, actorOf(request));
      reply.code(202);
      return { runId: run.id };
    },
  );

  /** For the job form: a cron's plain-language description and next five fire times. */
  r.post("/api/cron/preview", { schema: { body: CronPreviewBody }, config: { role: "viewer" } }, async (request) => {
    try {
      return {
        description: describeCron(request.body),
        nextRuns: nextFireTimes(request.body, 5).map((d) => d.toISOString()),
      };
    } catch (error) {
      throw new CoreError("validation_failed", error instanceof Error ? error.message : String(error));
    }
  });
}

/** What a job change touched, for the audit log: field names, with the webhook secret reduced to
 * "set"/"removed" (its value must not reach the log). */
function jobChange(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (value === undefined) continue;
    if (key === "webhook" && value && typeof value === "object") {
      const w = value as { slug?: string; secret?: string | null };
      out.webhook = { slug: w.slug, secret: w.secret === undefined ? "kept" : w.secret === null ? "removed" : "set" };
    } else if (key === "prompt") out.prompt = "(changed)";
    else out[key] = value;
  }
  return out;
}
