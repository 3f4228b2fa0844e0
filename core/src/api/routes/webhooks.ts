import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { verifyGithubSignature } from "../../secrets/index.ts";
import { verifyStandardWebhook } from "../../secrets/standard-webhooks.ts";
import { ApiError } from "../errors.ts";

const SlugParams = z.object({ slug: z.string().min(1).max(100) });
/** Larger bodies get 413 before anything else looks at them. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
const DELIVERY_ID = /^[\w.:@-]{1,200}$/;

/**
 * POST /api/webhook/:slug — public. In order: unknown slug → 404; over the per-webhook rate → 429;
 * when the job has a secret, the RAW body must be signed in one of the two conventions senders
 * use, else 401 and nothing runs:
 *  - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
 *  - Standard Webhooks: `webhook-id`, `webhook-timestamp` (±5 min), `webhook-signature: v1,<base64>`.
 * Then the delivery id (`X-GitHub-Delivery` or `webhook-id`) is remembered: the same id again is a
 * replay → 409, and nothing runs. HMACs are compared in constant time. The body is kept raw (this
 * scope's own content-type parser) because the signature is over the exact bytes sent.
 */
export async function webhookRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    "/api/webhook/:slug",
    { config: { role: "public" }, bodyLimit: WEBHOOK_BODY_LIMIT },
    async (request, reply) => {
      const params = SlugParams.safeParse(request.params);
      if (!params.success) throw new ApiError("not_found", "no such webhook");
      const slug = params.data.slug;
      const job = await ctx.repos.jobs.findByWebhookSlug(slug);
      if (!job) {
        ctx.metrics.webhooks.inc({ outcome: "unknown" });
        throw new ApiError("not_found", "no such webhook");
      }
      const actor = `webhook:${slug}`;
      const reject = async (outcome: string, error: ApiError) => {
        ctx.metrics.webhooks.inc({ outcome });
        await ctx.audit.record({
          actor,
          ip: request.ip,
          action: "webhook.reject",
          target: job.id,
          outcome: "denied",
          detail: { reason: outcome },
        });
        return error;
      };
      // Counted before the signature check, so guessing signatures is limited too.
      if (!ctx.limits.webhooks.hit(job.id)) {
        reply.header("retry-after", String(ctx.limits.webhooks.retryAfterSeconds(job.id)));
        ctx.metrics.webhooks.inc({ outcome: "rate_limited" });
        throw new ApiError("rate_limited", "too many deliveries to this webhook; slow down");
      }
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const h = headersOf(request);
      if (job.webhook?.hasSecret) {
        const secret = await ctx.repos.jobs.getWebhookSecret(job.id);
        if (!secret) throw await reject("bad_signature", new ApiError("unauthorized", "webhook secret unavailable"));
        if (h.standardSignature !== undefined) {
          const check = verifyStandardWebhook(
            secret,
            { id: h.standardId, timestamp: h.standardTimestamp, signature: h.standardSignature },
            raw,
            Math.floor(Date.now() / 1000),
          );
          if (!check.ok) {
            throw await reject(
              "bad_signature",
              new ApiError("unauthorized", `invalid Standard Webhooks signature (${check.reason})`),
            );
          }
        } else if (!verifyGithubSignature(secret, raw, h.github)) {
          throw await reject(
            "bad_signature",
            new ApiError(
              "unauthorized",
              "missing or invalid signature: send X-Hub-Signature-256 (GitHub) or webhook-id/webhook-timestamp/webhook-signature (Standard Webhooks)",
            ),
          );
        }
      }
      if (!job.enabled) {
        ctx.metrics.webhooks.inc({ outcome: "disabled" });
        throw new ApiError("conflict", "the job is paused");
      }
      const deliveryId = h.githubDelivery ?? h.standardId;
      if (deliveryId !== undefined) {
        if (!DELIVERY_ID.test(deliveryId)) throw new ApiError("bad_request", "malformed delivery id");
        // After the signature check: an unsigned request must not be able to burn a real id.
        if (!(await ctx.repos.webhookDeliveries.remember(job.id, deliveryId))) {
          throw await reject("replay", new ApiError("conflict", `delivery ${deliveryId} was already received`));
        }
      }
      const input = decodeBody(raw, String(request.headers["content-type"] ?? ""));
      const run = await ctx.runs.start(job, "webhook", input, { actor, ip: request.ip });
      ctx.metrics.webhooks.inc({ outcome: "accepted" });
      reply.code(202);
      return { runId: run.id };
    },
  );
}

function headersOf(request: FastifyRequest) {
  const one = (name: string) => {
    const v = request.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  return {
    github: one("x-hub-signature-256"),
    githubDelivery: one("x-github-delivery"),
    standardId: one("webhook-id"),
    standardTimestamp: one("webhook-timestamp"),
    standardSignature: one("webhook-signature"),
  };
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
