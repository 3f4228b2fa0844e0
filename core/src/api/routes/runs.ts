import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { FINAL_RUN_STATUSES } from "../../database/types.ts";
import { CoreError } from "../../errors.ts";
import type { RunEvent } from "../../runs/run-events.ts";
import { actorOf } from "../auth.ts";
import { ApproveBody, DenyBody, IdParams, RunStatsQuery, RunsQuery } from "../schemas.ts";
import { API_CSP, securityHeaders } from "../security-headers.ts";

const KEEPALIVE_MS = 15_000;

export async function runRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get("/api/runs", { schema: { querystring: RunsQuery }, config: { role: "viewer" } }, async (request) =>
    ctx.runs.list(request.query),
  );

  // Registered before /api/runs/:id in spirit: Fastify prefers the static segment anyway.
  r.get("/api/runs/stats", { schema: { querystring: RunStatsQuery }, config: { role: "viewer" } }, async (request) => ({
    days: await ctx.repos.runStats.daily(request.query.days, { jobId: request.query.jobId }),
  }));

  r.get("/api/runs/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) =>
    ctx.runs.view(request.params.id),
  );

  r.post("/api/runs/:id/cancel", { schema: { params: IdParams }, config: { role: "operator" } }, async (request) => {
    return ctx.runs.cancel(request.params.id, actorOf(request));
  });

  /** The run's pending tool call (`pendingApproval` in GET /api/runs/:id) goes to its Node. */
  r.post(
    "/api/runs/:id/approve",
    { schema: { params: IdParams, body: ApproveBody }, config: { role: "operator" } },
    async (request) =>
      ctx.runs.decide(request.params.id, { approved: true, approvalId: request.body?.approvalId }, actorOf(request)),
  );

  /** The pending call is not run; the model is told it was denied, with the reason. */
  r.post(
    "/api/runs/:id/deny",
    { schema: { params: IdParams, body: DenyBody }, config: { role: "operator" } },
    async (request) =>
      ctx.runs.decide(
        request.params.id,
        { approved: false, reason: request.body.reason, approvalId: request.body.approvalId },
        actorOf(request),
      ),
  );

  /**
   * Server-Sent Events of a run: the stored steps first (after Last-Event-ID when reconnecting),
   * then the model request and tool calls in flight now (issue 22.2: a page opened mid-call sees
   * the call), then live events. Subscribing happens before reading the store so no step falls in between;
   * steps are de-duplicated by seq.
   */
  r.get(
    "/api/runs/:id/events",
    { schema: { params: IdParams }, config: { role: "viewer" } },
    async (request, reply) => {
      const run = await ctx.runs.get(request.params.id);
      // At most FABRICORE_SSE_STREAMS_PER_USER open streams per user on this Core (issue 21.10).
      const user = request.principal?.userId ?? "anonymous";
      const release = ctx.limits.eventStreams.acquire(user);
      if (!release) {
        reply.header("retry-after", "5");
        throw new CoreError(
          "rate_limited",
          `too many open event streams for this user (${ctx.limits.eventStreams.limit}); close one first`,
        );
      }
      const lastEventId = Number.parseInt(String(request.headers["last-event-id"] ?? "0"), 10);
      let lastSeq = Number.isFinite(lastEventId) ? lastEventId : 0;
      let live = false;
      let ended = false;
      const buffered: RunEvent[] = [];
      // A call announced live and again by the in-flight replay is sent once.
      const sentCalls = new Set<string>();

      reply.hijack();
      const res = reply.raw;
      // Hijacked: Fastify's onSend hook does not run, so the security headers are written here.
      res.writeHead(200, {
        ...securityHeaders(ctx.tls),
        "content-security-policy": API_CSP,
        "x-request-id": String(request.id),
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      const send = (event: string, data: unknown, id?: number) => {
        if (ended) return;
        res.write(`${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const end = () => {
        if (ended) return;
        ended = true;
        cleanup();
        res.end();
      };
      const deliver = (event: RunEvent) => {
        switch (event.type) {
          case "step":
            if (event.seq <= lastSeq) return;
            lastSeq = event.seq;
            send("step", { seq: event.seq, ...event.step }, event.seq);
            return;
          case "delta":
            send("delta", { text: event.text });
            return;
          case "reasoning":
            send("reasoning", { text: event.text });
            return;
          case "model":
            send("model", {
              provider: event.provider,
              model: event.model,
              attempt: event.attempt,
              ...(event.startedAt ? { startedAt: event.startedAt } : {}),
            });
            return;
          case "model_status":
            send("model_status", { provider: event.provider, model: event.model, ...event.status });
            return;
          case "tool":
            if (sentCalls.has(event.callId)) return;
            sentCalls.add(event.callId);
            send("tool", {
              tool: event.tool,
              node: event.node,
              callId: event.callId,
              arguments: event.arguments,
              ...(event.startedAt ? { startedAt: event.startedAt } : {}),
            });
            return;
          case "output":
            send("output", { callId: event.callId, stream: event.stream, text: event.text });
            return;
          case "progress":
            send("progress", {
              callId: event.callId,
              progress: event.progress,
              ...(event.total !== undefined && { total: event.total }),
              ...(event.message !== undefined && { message: event.message }),
            });
            return;
          case "status":
            send("status", {
              status: event.status,
              output: event.output ?? null,
              error: event.error ?? null,
              ...(event.pendingApproval ? { pendingApproval: event.pendingApproval } : {}),
              ...(event.waiting ? { waiting: event.waiting } : {}),
            });
            return;
          case "done":
            send("done", { status: event.status });
            end();
            return;
          case "children":
            // A fan-out parent's child started or ended: the page and the CLI re-read the run's
            // `children` instead of polling for them.
            send("children", {});
        }
      };
      const unsubscribe = ctx.events.subscribe(run.id, (event) => (live ? deliver(event) : buffered.push(event)));
      const keepalive = setInterval(() => res.write(": keep-alive\n\n"), KEEPALIVE_MS);
      const cleanup = () => {
        clearInterval(keepalive);
        unsubscribe();
        release();
      };
      request.raw.on("close", end);

      for (const step of await ctx.repos.steps.list(run.id, { afterSeq: lastSeq })) {
        deliver({ type: "step", seq: step.seq, step: { ...step.data, type: step.type, at: step.createdAt } });
      }
      live = true;
      for (const event of buffered.splice(0)) deliver(event);
      // What the run is doing now — its model request and what that waits for (queued, loading),
      // calls sent before this page opened: once, live.
      for (const event of ctx.events.inFlight(run.id)) deliver(event);
      const current = await ctx.runs.get(run.id);
      send("status", {
        status: current.status,
        output: current.output,
        error: current.error,
        ...(current.pendingApproval ? { pendingApproval: current.pendingApproval } : {}),
        ...(current.waiting ? { waiting: current.waiting } : {}),
      });
      if ((FINAL_RUN_STATUSES as readonly string[]).includes(current.status)) {
        send("done", { status: current.status });
        end();
      }
    },
  );
}
