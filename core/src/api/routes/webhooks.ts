import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { CoreContext } from "../../core-context.ts";
import { newId } from "../../database/ids.ts";
import type { RunWebhook } from "../../database/types.ts";
import { CoreError } from "../../errors.ts";
import { verifyGithubSignature } from "../../secrets/index.ts";
import { verifyStandardWebhook } from "../../secrets/standard-webhooks.ts";
import { decodeWebhookBody } from "./webhook-body.ts";

const SlugParams = z.object({ slug: z.string().min(1).max(100) });
const DELIVERY_ID = /^[\w.:@-]{1,200}$/;
const EVENT_NAME = /^[\w.:-]{1,100}$/;

/**
 * POST /api/webhook/:slug — public. In order: unknown slug → 404; over the per-webhook rate → 429;
 * a webhook with neither a secret nor `public: true` (saved before that rule) → 401; when the job
 * has a secret, the RAW body must be signed in one of the two conventions senders use, else 401:
 *  - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
 *  - Standard Webhooks: `webhook-id`, `webhook-timestamp` (±5 min), `webhook-signature: v1,<base64>`.
 * Then, as senders expect: GitHub's `ping` → 200 and no run; a redelivery (a delivery id seen
 * before, or — GitHub style, whose signature has no timestamp — the same signature under another
 * id within 24 h) → 200 `{runId: <the first run>, duplicate: true}` and no second run. HMACs are
 * compared in constant time. The body is kept raw (this scope's own content-type parser) because
 * the signature is over the exact bytes sent; form-encoded `payload=` bodies are decoded after.
 */
export async function webhookRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const bodyLimit = ctx.webhookMaxBytes;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit }, (_request, body, done) => {
    done(null, body);
  });

  app.post("/api/webhook/:slug", { config: { role: "public" }, bodyLimit }, async (request, reply) => {
    // An address that probed too many unknown slugs this minute gets 429 for every slug, so its
    // answers no longer tell a real slug (401, 202) from a guessed one (issue 21.10).
    const probes = ctx.limits.webhookProbes;
    const probing = () => {
      reply.header("retry-after", String(probes.retryAfterSeconds(request.ip)));
      ctx.metrics.webhookDeliveries.inc({ outcome: "probe_limited" });
      return new CoreError("rate_limited", "too many requests for unknown webhooks from this address; slow down");
    };
    if (probes.blocked(request.ip)) throw probing();
    const unknown = () => {
      ctx.metrics.webhookDeliveries.inc({ outcome: "unknown" });
      if (!probes.hit(request.ip)) return probing();
      return new CoreError("not_found", "no such webhook");
    };
    const params = SlugParams.safeParse(request.params);
    if (!params.success) throw unknown();
    const slug = params.data.slug;
    const job = await ctx.repos.jobs.findByWebhookSlug(slug);
    if (!job?.webhook) throw unknown();
    const actor = `webhook:${slug}`;
    const reject = async (outcome: string, error: CoreError) => {
      ctx.metrics.webhookDeliveries.inc({ outcome });
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
      ctx.metrics.webhookDeliveries.inc({ outcome: "rate_limited" });
      throw new CoreError("rate_limited", "too many deliveries to this webhook; slow down");
    }
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const h = headersOf(request);
    let signatureHash: string | undefined;
    if (job.webhook.hasSecret) {
      let secret: string | undefined;
      try {
        secret = await ctx.repos.jobs.getWebhookSecret(job.id);
      } catch (error) {
        // A damaged secret fails this webhook only, with a code the sender's log shows (21.3): 503,
        // so senders that retry (GitHub does not) try again once an admin has set it anew.
        const row = ctx.unreadableSecrets.report("webhook_secret", job.id, job.name, error);
        throw await reject(
          "secret_unreadable",
          new CoreError(
            "secret_unreadable",
            `this webhook's secret cannot be decrypted (${row.code}); an admin must set it again`,
          ),
        );
      }
      if (secret !== undefined) ctx.unreadableSecrets.clear("webhook_secret", job.id);
      if (!secret) throw await reject("bad_signature", new CoreError("unauthorized", "webhook secret unavailable"));
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
            new CoreError("unauthorized", `invalid Standard Webhooks signature (${check.reason})`),
          );
        }
      } else if (!verifyGithubSignature(secret, raw, h.github)) {
        throw await reject(
          "bad_signature",
          new CoreError(
            "unauthorized",
            "missing or invalid signature: send X-Hub-Signature-256 (GitHub) or webhook-id/webhook-timestamp/webhook-signature (Standard Webhooks)",
          ),
        );
      } else {
        // Hex case is the only freedom the header format leaves; one signature, one hash.
        signatureHash = createHash("sha256").update(h.github!.trim().slice(7).toLowerCase()).digest("hex");
      }
    } else if (!job.webhook.public) {
      // Saved before a webhook needed a secret or `public: true`: refused, not silently open.
      throw await reject(
        "unsigned",
        new CoreError("unauthorized", "this webhook has no secret and is not marked public; set a secret on the job"),
      );
    }
    if (!job.enabled) {
      ctx.metrics.webhookDeliveries.inc({ outcome: "disabled" });
      throw new CoreError("conflict", "the job is paused");
    }
    if (h.githubEvent === "ping") {
      // GitHub sends it once when a webhook is created: answering it must not start the job.
      ctx.metrics.webhookDeliveries.inc({ outcome: "ping" });
      return { ok: true, ping: true };
    }
    const deliveryId = h.githubDelivery ?? h.standardId;
    if (deliveryId !== undefined && !DELIVERY_ID.test(deliveryId)) {
      throw new CoreError("bad_request", "malformed delivery id");
    }
    if (h.githubEvent !== undefined && !EVENT_NAME.test(h.githubEvent)) {
      throw new CoreError("bad_request", "malformed X-GitHub-Event");
    }
    const input = decodeWebhookBody(raw, String(request.headers["content-type"] ?? ""));
    const webhook: RunWebhook = { event: h.githubEvent ?? standardEventOf(input), deliveryId: deliveryId ?? null };

    // Claimed after the signature check (an unsigned request must not burn a real id), with the
    // run's id chosen first, so a redelivery racing the first copy is answered with that id.
    const runId = newId();
    const duplicate = (firstRunId: string | null) => {
      ctx.metrics.webhookDeliveries.inc({ outcome: "duplicate" });
      return { runId: firstRunId, duplicate: true };
    };
    const deliveries = ctx.repos.webhookDeliveries;
    if (deliveryId !== undefined) {
      const claim = await deliveries.claimDelivery(job.id, deliveryId, runId);
      if (!claim.first) return duplicate(claim.runId);
    }
    if (signatureHash !== undefined) {
      const claim = await deliveries.claimSignature(job.id, signatureHash, runId);
      if (!claim.first) {
        // The same signed body under a new delivery id: a replay, or a sender resending by hand.
        if (deliveryId !== undefined) await deliveries.pointDelivery(job.id, deliveryId, claim.runId);
        await ctx.audit.record({
          actor,
          ip: request.ip,
          action: "webhook.replay",
          target: job.id,
          outcome: "denied",
          detail: { deliveryId: deliveryId ?? null, firstRunId: claim.runId },
        });
        return duplicate(claim.runId);
      }
    }
    try {
      await ctx.runs.start(job, "webhook", input, { actor, ip: request.ip }, { id: runId, webhook });
    } catch (error) {
      await deliveries.release(job.id, { deliveryId, signatureHash });
      throw error;
    }
    ctx.metrics.webhookDeliveries.inc({ outcome: "accepted" });
    reply.code(202);
    return { runId };
  });
}

function headersOf(request: FastifyRequest) {
  const one = (name: string) => {
    const v = request.headers[name];
    return typeof v === "string" ? v : undefined;
  };
  return {
    github: one("x-hub-signature-256"),
    githubDelivery: one("x-github-delivery"),
    githubEvent: one("x-github-event"),
    standardId: one("webhook-id"),
    standardTimestamp: one("webhook-timestamp"),
    standardSignature: one("webhook-signature"),
  };
}

/** Standard Webhooks carry the event in the payload's `type` (e.g. "invoice.paid"). */
function standardEventOf(input: unknown): string | null {
  if (input && typeof input === "object" && !Array.isArray(input)) {
    const type = (input as Record<string, unknown>).type;
    if (typeof type === "string" && EVENT_NAME.test(type)) return type;
  }
  return null;
}
