import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { CoreError } from "../../errors.ts";
import { unreadableMessage } from "../../secrets/unreadable-secrets.ts";
import { actorOf } from "../auth.ts";
import { NameParams, SecretBody } from "../schemas.ts";

/** Write-only: values go in, only names and dates come out. */
export async function secretRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post("/api/secrets", { schema: { body: SecretBody }, config: { role: "admin" } }, async (request, reply) => {
    const existed = (await ctx.repos.secrets.list()).some((s) => s.name === request.body.name);
    const info = await ctx.repos.secrets.put(request.body.name, request.body.value);
    // The name only: the value never reaches the audit log.
    await ctx.audit.recordBy(actorOf(request), existed ? "secret.update" : "secret.create", info.name);
    await ctx.refreshRedactor();
    reply.code(201);
    return { name: info.name, createdAt: info.createdAt, updatedAt: info.updatedAt };
  });

  // A secret whose stored value does not decrypt is marked (issue 21.3); its value is never read here.
  r.get("/api/secrets", { config: { role: "viewer" } }, async () => {
    const unreadable = new Set(
      ctx.unreadableSecrets
        .list()
        .filter((u) => u.kind === "secret")
        .map((u) => u.name),
    );
    return (await ctx.repos.secrets.list()).map((s) => (unreadable.has(s.name) ? { ...s, unreadable: true } : s));
  });

  // Every sealed value this Core found it cannot decrypt: secrets, provider keys, webhook and
  // channel secrets (names and row ids only; what to set again).
  r.get("/api/secrets/unreadable", { config: { role: "viewer" } }, async () =>
    ctx.unreadableSecrets.list().map((u) => ({
      ...u,
      message: unreadableMessage(u.kind, u.name, u.code),
    })),
  );

  r.delete("/api/secrets/:name", { schema: { params: NameParams }, config: { role: "admin" } }, async (request) => {
    if (!(await ctx.repos.secrets.delete(request.params.name))) throw new CoreError("not_found", "secret not found");
    await ctx.audit.recordBy(actorOf(request), "secret.delete", request.params.name);
    await ctx.refreshRedactor();
    return { ok: true };
  });
}
