import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { ChannelBody } from "../../channels/channel-config.ts";
import type { CoreContext } from "../../core-context.ts";
import { actorOf } from "../auth.ts";
import { IdParams } from "../schemas.ts";

/** CONTRACT "Results that reach people": channels. A channel's secrets are write-only. */
export async function channelRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/channels", { schema: { body: ChannelBody }, config: { role: "admin" } }, async (request, reply) => {
    const channel = await ctx.channels.create(request.body);
    await ctx.audit.recordBy(actorOf(request), "channel.create", channel.id, {
      name: channel.name,
      kind: channel.kind,
      secrets: channel.secrets,
    });
    reply.code(201);
    return channel;
  });

  r.get("/api/channels", { config: { role: "viewer" } }, async () => ctx.channels.list());

  r.get("/api/channels/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) =>
    ctx.channels.get(request.params.id),
  );

  r.delete("/api/channels/:id", { schema: { params: IdParams }, config: { role: "admin" } }, async (request) => {
    const channel = await ctx.channels.delete(request.params.id);
    await ctx.audit.recordBy(actorOf(request), "channel.delete", channel.id, { name: channel.name });
    return { ok: true };
  });

  /** Sends a test message now and answers with what the receiver said (200 whatever it said:
   * `ok: false` with the status or the connection error is the answer, not a failure of this call). */
  r.post("/api/channels/:id/test", { schema: { params: IdParams }, config: { role: "operator" } }, async (request) => {
    const result = await ctx.channels.test(request.params.id);
    await ctx.audit.recordBy(actorOf(request), "channel.test", result.channel, {
      ok: result.ok,
      status: result.status,
    });
    return {
      ...result,
      response: ctx.redactor.redact(result.response),
      ...(result.error !== undefined ? { error: ctx.redactor.redact(result.error) } : {}),
    };
  });
}
