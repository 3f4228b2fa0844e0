import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { CoreContext } from "../../core-context.ts";
import { CoreError } from "../../errors.ts";
import { type LlmClient, LlmError } from "../../llm/index.ts";
import { providerConfig } from "../../services/provider-credentials.ts";
import { actorOf } from "../auth.ts";
import { IdParams, ProviderBody, ProviderPatchBody, ProviderTestBody } from "../schemas.ts";

export async function providerRoutes(app: FastifyInstance, ctx: CoreContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const find = async (idOrName: string) => {
    const provider = await ctx.repos.providers.resolve(idOrName);
    if (!provider) throw new CoreError("not_found", `provider ${idOrName} not found`);
    return provider;
  };

  r.post("/api/providers", { schema: { body: ProviderBody }, config: { role: "admin" } }, async (request, reply) => {
    if (await ctx.repos.providers.getByName(request.body.name)) {
      throw new CoreError("conflict", `a provider named ${request.body.name} exists`);
    }
    // Header values are credentials (issue 21.1): sealed like the key, listed by name only.
    const { headers, ...options } = request.body.options ?? {};
    const provider = await ctx.repos.providers.create({
      name: request.body.name,
      kind: request.body.kind,
      baseUrl: request.body.baseUrl ?? null,
      apiKey: request.body.apiKey ?? null,
      options,
      headers: headers ?? {},
    });
    await ctx.audit.recordBy(actorOf(request), "provider.create", provider.id, {
      name: provider.name,
      kind: provider.kind,
      apiKey: request.body.apiKey ? "set" : "none",
      headers: Object.keys(headers ?? {}),
    });
    if (request.body.apiKey || headers) await ctx.refreshRedactor();
    reply.code(201);
    return provider;
  });

  r.get("/api/providers", { config: { role: "viewer" } }, async () => ctx.repos.providers.list());

  r.get("/api/providers/:id", { schema: { params: IdParams }, config: { role: "viewer" } }, async (request) =>
    find(request.params.id),
  );

  r.patch(
    "/api/providers/:id",
    { schema: { params: IdParams, body: ProviderPatchBody }, config: { role: "admin" } },
    async (request) => {
      const provider = await find(request.params.id);
      const { apiKey, options: patchOptions, ...rest } = request.body;
      // `options.headers` given: the new set (their values are never returned, so a client that
      // changes other options leaves them out and they are kept).
      const { headers, ...options } = patchOptions ?? {};
      const updated = await ctx.repos.providers.update(provider.id, {
        ...rest,
        ...(patchOptions !== undefined ? { options } : {}),
        ...(headers !== undefined ? { headers } : {}),
        ...(apiKey !== undefined ? { apiKey } : {}),
      });
      if (!updated) throw new CoreError("not_found", "provider not found");
      await ctx.audit.recordBy(actorOf(request), "provider.update", provider.id, {
        name: updated.name,
        fields: Object.keys(request.body).filter((k) => k !== "apiKey"),
        apiKey: apiKey === undefined ? "kept" : apiKey === null ? "removed" : "set",
        headers: headers === undefined ? "kept" : Object.keys(headers),
      });
      if (apiKey !== undefined || headers !== undefined) await ctx.refreshRedactor();
      return updated;
    },
  );

  r.delete("/api/providers/:id", { schema: { params: IdParams }, config: { role: "admin" } }, async (request) => {
    const provider = await find(request.params.id);
    await ctx.repos.providers.delete(provider.id);
    await ctx.audit.recordBy(actorOf(request), "provider.delete", provider.id, { name: provider.name });
    return { ok: true };
  });

  /** The live model list; doubles as the connection test. Operator, like the test below: both make
   * the Core connect out to the provider (with its key), which a viewer must not be able to trigger. */
  r.get(
    "/api/providers/:id/models",
    { schema: { params: IdParams }, config: { role: "operator" } },
    async (request) => {
      const provider = await find(request.params.id);
      const client = await ctx.llmFor(provider.id);
      try {
        return await client.listModels({ signal: AbortSignal.timeout(15_000) });
      } catch (error) {
        if (error instanceof LlmError)
          throw new CoreError("provider_error", `${provider.name}: ${error.message}`, { code: error.code });
        throw error;
      }
    },
  );

  /** Operator, for the same reason as the model list. */
  r.post("/api/providers/:id/test", { schema: { params: IdParams }, config: { role: "operator" } }, async (request) => {
    const provider = await find(request.params.id);
    return connectionTest(await ctx.llmFor(provider.id));
  });

  /**
   * The form's Test before save (issue 22.6): the settings as typed, nothing stored. Admin, like
   * saving them: it points the Core (and, with `providerId`, a stored key) at any address.
   */
  r.post("/api/providers/test", { schema: { body: ProviderTestBody }, config: { role: "admin" } }, async (request) => {
    const { providerId, options: given, apiKey, ...body } = request.body;
    const stored = providerId !== undefined ? await find(providerId) : null;
    const base = stored
      ? await providerConfig(ctx.repos.providers, stored)
      : { kind: body.kind, baseUrl: null, apiKey: null, options: {} };
    const { headers, ...options } = given ?? {};
    const storedHeaders = base.options?.headers;
    return connectionTest(
      ctx.llmForConfig({
        kind: body.kind,
        name: body.name ?? stored?.name ?? "new provider",
        baseUrl: body.baseUrl ?? (stored && stored.kind === body.kind ? base.baseUrl : null),
        apiKey: apiKey ?? base.apiKey ?? null,
        options: {
          ...(given !== undefined ? options : base.options),
          ...((headers ?? storedHeaders) ? { headers: headers ?? storedHeaders } : {}),
        },
      }),
    );
  });
}

/** `{ok, models, latencyMs}` or `{ok: false, error}`: a failed connection is an answer, not an error. */
async function connectionTest(client: LlmClient) {
  const started = performance.now();
  try {
    const models = await client.listModels({ signal: AbortSignal.timeout(15_000) });
    return {
      ok: true,
      models: models.length,
      modelIds: models.slice(0, 20).map((m) => m.id),
      latencyMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    const code = error instanceof LlmError ? error.code : "connection_failed";
    return { ok: false, error: { code, message: error instanceof Error ? error.message : String(error) } };
  }
}
