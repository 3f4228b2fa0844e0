import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { LlmError } from "../../llm/index.ts";
import { requireRole } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { IdParams, ProviderBody, ProviderPatchBody } from "../schemas.ts";

export async function providerRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const find = async (idOrName: string) => {
    const provider = await ctx.repos.providers.resolve(idOrName);
    if (!provider) throw new ApiError("not_found", `provider ${idOrName} not found`);
    return provider;
  };

  r.post(
    "/api/providers",
    { schema: { body: ProviderBody }, preHandler: requireRole("admin") },
    async (request, reply) => {
      if (await ctx.repos.providers.getByName(request.body.name)) {
        throw new ApiError("conflict", `a provider named ${request.body.name} exists`);
      }
      const provider = await ctx.repos.providers.create({
        name: request.body.name,
        kind: request.body.kind,
        baseUrl: request.body.baseUrl ?? null,
        apiKey: request.body.apiKey ?? null,
        options: request.body.options ?? {},
      });
      reply.code(201);
      return provider;
    },
  );

  r.get("/api/providers", async () => ctx.repos.providers.list());

  r.get("/api/providers/:id", { schema: { params: IdParams } }, async (request) => find(request.params.id));

  r.patch(
    "/api/providers/:id",
    { schema: { params: IdParams, body: ProviderPatchBody }, preHandler: requireRole("admin") },
    async (request) => {
      const provider = await find(request.params.id);
      const { apiKey, ...rest } = request.body;
      const updated = await ctx.repos.providers.update(provider.id, {
        ...rest,
        ...(apiKey !== undefined ? { apiKey } : {}),
      });
      if (!updated) throw new ApiError("not_found", "provider not found");
      return updated;
    },
  );

  r.delete(
    "/api/providers/:id",
    { schema: { params: IdParams }, preHandler: requireRole("admin") },
    async (request) => {
      const provider = await find(request.params.id);
      await ctx.repos.providers.delete(provider.id);
      return { ok: true };
    },
  );

  /** The live model list; doubles as the connection test. */
  r.get("/api/providers/:id/models", { schema: { params: IdParams } }, async (request) => {
    const provider = await find(request.params.id);
    const client = await ctx.llmFor(provider.id);
    try {
      return await client.listModels({ signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      if (error instanceof LlmError)
        throw new ApiError("provider_error", `${provider.name}: ${error.message}`, { code: error.code });
      throw error;
    }
  });

  r.post("/api/providers/:id/test", { schema: { params: IdParams } }, async (request) => {
    const provider = await find(request.params.id);
    const client = await ctx.llmFor(provider.id);
    const started = performance.now();
    try {
      const models = await client.listModels({ signal: AbortSignal.timeout(15_000) });
      return { ok: true, models: models.length, latencyMs: Math.round(performance.now() - started) };
    } catch (error) {
      const code = error instanceof LlmError ? error.code : "connection_failed";
      return { ok: false, error: { code, message: error instanceof Error ? error.message : String(error) } };
    }
  });
}
