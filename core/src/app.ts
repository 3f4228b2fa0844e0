import { readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from "fastify";
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from "fastify-type-provider-zod";
import { authHook } from "./api/auth.ts";
import { installErrorHandler } from "./api/errors.ts";
import { authRoutes } from "./api/routes/auth.ts";
import { healthRoutes } from "./api/routes/health.ts";
import { jobRoutes } from "./api/routes/jobs.ts";
import { mcpRoutes } from "./api/routes/mcp.ts";
import { nodeRoutes } from "./api/routes/nodes.ts";
import { providerRoutes } from "./api/routes/providers.ts";
import { runRoutes } from "./api/routes/runs.ts";
import { secretRoutes } from "./api/routes/secrets.ts";
import { webhookRoutes } from "./api/routes/webhooks.ts";
import type { CoreContext } from "./core-context.ts";

export interface AppOptions {
  logger: FastifyServerOptions["loggerInstance"] | false;
  /** Built UI (core/ui/dist); served at / with SPA fallback when it exists. */
  uiDir?: string | undefined;
  https?: { cert: Buffer; key: Buffer } | undefined;
}

// The Node's enrollment and challenge carry their own proof (an enrollment token, nothing to protect).
const PUBLIC_API = new Set(["/api/auth/login", "/api/openapi.json", "/api/nodes/enroll", "/api/nodes/challenge"]);

/** The Fastify application: every route validates with zod, one error handler shapes errors, and
 * every /api route but login, webhooks and the Node socket needs a principal. */
export async function buildApp(ctx: CoreContext, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: 2 * 1024 * 1024,
    trustProxy: true,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const index = options.uiDir ? readIndex(options.uiDir) : undefined;
  if (options.uiDir && index === undefined) {
    app.log.warn({ uiDir: options.uiDir }, "the UI is not built (run make build); serving the API only");
  }
  installErrorHandler(app, index === undefined ? undefined : (_request, reply) => sendIndex(reply, index));
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: "FabriCore API", version: ctx.version, description: "The Core's REST API (see CONTRACT.md)." },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  const authenticate = authHook((token, via) => ctx.accounts.authenticate(token, via));
  app.addHook("onRequest", async (request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    if (!path.startsWith("/api/") || PUBLIC_API.has(path) || path.startsWith("/api/webhook/")) return;
    await authenticate(request, reply);
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
    return payload;
  });

  await app.register(async (scope) => webhookRoutes(scope, ctx));
  for (const routes of [
    authRoutes,
    nodeRoutes,
    providerRoutes,
    secretRoutes,
    jobRoutes,
    runRoutes,
    mcpRoutes,
    healthRoutes,
  ]) {
    await app.register(async (scope) => routes(scope, ctx));
  }
  app.get("/api/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  if (options.uiDir && index !== undefined) {
    await app.register(fastifyStatic, { root: options.uiDir, prefix: "/", wildcard: false, index: false });
    app.get("/", { schema: { hide: true } }, (_request, reply) => sendIndex(reply, index));
  }
  return app;
}

function readIndex(uiDir: string): string | undefined {
  try {
    return readFileSync(join(uiDir, "index.html"), "utf8");
  } catch {
    return undefined;
  }
}

/** The UI's HTML with a strict Content-Security-Policy: only our own scripts, no inline script. */
function sendIndex(reply: FastifyReply, index: string) {
  return reply
    .header(
      "content-security-policy",
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    )
    .type("text/html")
    .send(index);
}
