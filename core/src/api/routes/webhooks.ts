import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { verifyGithubSignature } from "../../secrets/index.ts";
import { ApiError } from "../errors.ts";

const SlugParams = z.object({ slug: z.string().min(1).max(100) });
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

/**
 * POST /api/webhook/:slug — public; when the job has a secret, the RAW body must carry a
 * GitHub-compatible `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>` (checked in constant time)
 * or nothing runs. The body is kept raw (its own content-type parsers in this scope) because the
 * signature is over the exact bytes sent.
 */
export async function webhookRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    "/api/webhook/:slug",
    { config: { public: true }, bodyLimit: WEBHOOK_BODY_LIMIT },
    async (request, reply) => {
      const params = SlugParams.safeParse(request.params);
      if (!params.success) throw new ApiError("not_found", "no such webhook");
      const job = await ctx.repos.jobs.findByWebhookSlug(params.data.slug);
      if (!job) {
        ctx.metrics.webhooks.inc({ outcome: "unknown" });
        throw new ApiError("not_found", "no such webhook");
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (job.webhook?.hasSecret) {
        const secret = await ctx.repos.jobs.getWebhookSecret(job.id);
        const header = request.headers["x-hub-signature-256"];
        if (!secret || !verifyGithubSignature(secret, raw, typeof header === "string" ? header : undefined)) {
          ctx.metrics.webhooks.inc({ outcome: "bad_signature" });
          throw new ApiError("unauthorized", "missing or invalid X-Hub-Signature-256");
        }
      }
      if (!job.enabled) {
        ctx.metrics.webhooks.inc({ outcome: "disabled" });
        throw new ApiError("conflict", "the job is paused");
      }
      const input = decodeBody(raw, String(request.headers["content-type"] ?? ""));
      const run = await ctx.runs.start(job, "webhook", input);
      ctx.metrics.webhooks.inc({ outcome: "accepted" });
      reply.code(202);
      return { runId: run.id };
    },
  );
}

function decodeBody(raw: Buffer, contentType: string): unknown {
  if (raw.length === 0) return null;
  const text = raw.toString("utf8");
  if (contentType.includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError("bad_request", "the body is not valid JSON");
    }
  }
  return text;
}
