import { readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler } from "fastify-type-provider-zod";
import proxyAddr from "proxy-addr";
import { authHook, type RouteRole, requireRank } from "./api/auth.ts";
import { installErrorHandler } from "./api/errors.ts";
import {
  pathOf,
  REQUEST_ID_HEADER,
  RouteMethods,
  registerCompression,
  requestIdOf,
  uiCacheControl,
} from "./api/http-niceties.ts";
import { decorateRoute, openApiDocument, plainSerializerCompiler, SECURITY_SCHEMES, TAGS } from "./api/openapi.ts";
import { auditRoutes } from "./api/routes/audit.ts";
import { authRoutes } from "./api/routes/auth.ts";
import { channelRoutes } from "./api/routes/channels.ts";
import { healthRoutes } from "./api/routes/health.ts";
import { jobRoutes } from "./api/routes/jobs.ts";
import { mcpRoutes } from "./api/routes/mcp.ts";
import { mcpClientRoutes } from "./api/routes/mcp-clients.ts";
import { nodeRolloutRoutes } from "./api/routes/node-rollouts.ts";
import { nodeRoutes } from "./api/routes/nodes.ts";
import { providerRoutes } from "./api/routes/providers.ts";
import { runRoutes } from "./api/routes/runs.ts";
import { secretRoutes } from "./api/routes/secrets.ts";
import { userRoutes } from "./api/routes/users.ts";
import { webhookRoutes } from "./api/routes/webhooks.ts";
import { API_CSP, securityHeaders } from "./api/security-headers.ts";
import { installTokenScopes } from "./api/token-scopes.ts";
import type { CoreContext } from "./core-context.ts";

export interface AppOptions {
  logger: FastifyServerOptions["loggerInstance"] | false;
  /** Built UI (core/ui/dist); served at / with SPA fallback when it exists. */
  uiDir?: string | undefined;
  https?: { cert: Buffer; key: Buffer } | undefined;
  /** Whose X-Forwarded-For to believe (see FABRICORE_TRUST_PROXY); default: none. */
  trustProxy?: boolean | string | string[] | undefined;
}

/** One registered route and the least role it needs ("public": no authentication). */
export interface RouteInfo {
  method: string;
  url: string;
  role: RouteRole | undefined;
}

const routeTables = new WeakMap<FastifyInstance, RouteInfo[]>();

/** Every route the app registered (for the role walk test and the docs). */
export function routesOf(app: FastifyInstance): RouteInfo[] {
  return routeTables.get(app) ?? [];
}

/** FABRICORE_TRUST_PROXY → Fastify's trustProxy: `true`/`false`, or addresses/CIDRs/`loopback`. */
export function parseTrustProxy(value: string): boolean | string[] {
  const v = value.trim().toLowerCase();
  if (v === "true") return true;
  if (v === "false" || v === "") return false;
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The same setting as a predicate over the peer's address, for the Node socket's upgrade (which
 * Fastify does not see): Fastify's own rule, `proxy-addr`, so both agree on who is a proxy. */
export function trustProxyPredicate(value: boolean | string[]): (address: string) => boolean {
  if (value === true) return () => true;
  if (value === false || value.length === 0) return () => false;
  const trust = proxyAddr.compile(value);
  return (address) => trust(address, 0);
}

const UI_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Mantine renders its CSS variables as <style> elements; inline styles cannot run code, and
  // script-src stays strict (no inline script, no eval), which is what stops XSS.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

// The Node's enrollment and challenge carry their own proof (an enrollment token, nothing to protect).
const PUBLIC_API = new Set(["/api/auth/login", "/api/openapi.json", "/api/nodes/enroll", "/api/nodes/challenge"]);

/** The Fastify application: every route validates with zod, one error handler shapes errors, and
 * every /api route but login, webhooks and the Node socket needs a principal. */
export async function buildApp(ctx: CoreContext, options: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: 2 * 1024 * 1024,
    // Only a proxy we were told about may set the client IP (the login limit and the audit log
    // key on it); trusting every X-Forwarded-For would let anyone pick their own IP.
    trustProxy: options.trustProxy ?? false,
    // Every answer carries the request's id (X-Request-Id, echoed when the caller sent a plain
    // one) and every log line of the request names it (`reqId`), so an error report finds the log.
    genReqId: requestIdOf,
  }) as unknown as FastifyInstance;
  const routes: RouteInfo[] = [];
  routeTables.set(app, routes);
  const methods = new RouteMethods();
  // Every /api route names the least role it needs in `config.role`. One without is treated as
  // admin-only (fail closed), and the role walk test fails until it is classified.
  app.addHook("onRoute", (route) => {
    const config = (route.config ?? {}) as { role?: RouteRole };
    if (route.url.startsWith("/api/") && PUBLIC_API.has(route.url)) config.role = "public";
    else if (route.url.startsWith("/api/") && config.role === undefined) config.role = "admin";
    route.config = config as typeof route.config;
    for (const method of [route.method].flat()) {
      if (method !== "HEAD") routes.push({ method, url: route.url, role: config.role });
    }
    methods.add(route.url, [route.method].flat());
    decorateRoute(route);
  });
  // Fastify hands a missing body to the validator as null; an optional body schema means "may be
  // left out", so the body validator sees it as undefined (a required body is still refused).
  app.setValidatorCompiler((route) => {
    const validate = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
    return route.httpPart === "body" ? (data: unknown) => validate(data === null ? undefined : data) : validate;
  });
  app.setSerializerCompiler(plainSerializerCompiler);
  const index = options.uiDir ? readIndex(options.uiDir) : undefined;
  if (options.uiDir && index === undefined) {
    app.log.warn({ uiDir: options.uiDir }, "the UI is not built (run make build); serving the API only");
  }
  installErrorHandler(app, {
    ...(index !== undefined && { spa: (_request, reply) => sendIndex(reply, index) }),
    allowedMethods: (path) => methods.allowed(path),
  });
  await app.register(fastifyCookie);
  await registerCompression(app);
  acceptEmptyBodies(app);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: "FabriCore API",
        version: ctx.version,
        description: "The Core's REST API (CONTRACT.md, docs/API.md). Errors are {error: {code, message}}.",
        license: { name: "Apache-2.0", url: "https://www.apache.org/licenses/LICENSE-2.0" },
      },
      tags: [...TAGS],
      components: { securitySchemes: SECURITY_SCHEMES },
      // Either credential; a route that needs none says `security: []`.
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  const authenticate = authHook(async (token, via, request) => {
    const principal = await ctx.accounts.authenticate(token, via);
    // First use of a token in a minute (the same rule that updates its last-used time).
    if (principal?.firstUseThisMinute) {
      await ctx.audit.record({
        actor: principal.username,
        ip: request.ip,
        action: "token.use",
        target: principal.tokenId,
        detail: { kind: principal.tokenKind, via },
      });
    }
    return principal;
  });
  app.addHook("onRequest", async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    const path = pathOf(request);
    const role = (request.routeOptions.config as { role?: RouteRole } | undefined)?.role;
    if (!path.startsWith("/api/") || role === "public") return;
    // No route answers OPTIONS itself: the not-found handler lists the path's methods, which the
    // public OpenAPI document tells anyway (a preflight carries no credentials).
    if (request.method === "OPTIONS" && request.routeOptions.url === undefined) return;
    await authenticate(request, reply);
    // Roles are checked here, before the body is parsed or validated: a viewer gets 403 for a
    // write whatever it sends, and no handler code runs.
    if (role !== undefined) requireRank(request, role);
  });
  app.addHook("onSend", async (request, reply, payload) => {
    reply.headers(securityHeaders(ctx.tls));
    if (!reply.hasHeader("content-security-policy")) reply.header("content-security-policy", API_CSP);
    // Answers carrying credentials or run data must not be kept by a shared cache.
    if (request.url.startsWith("/api/") && !reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });

  installTokenScopes(app, ctx);
  await app.register(async (scope) => webhookRoutes(scope, ctx));
  for (const routes of [
    authRoutes,
    nodeRoutes,
    nodeRolloutRoutes,
    providerRoutes,
    secretRoutes,
    jobRoutes,
    runRoutes,
    mcpRoutes,
    mcpClientRoutes,
    healthRoutes,
    auditRoutes,
    userRoutes,
    channelRoutes,
  ]) {
    await app.register(async (scope) => routes(scope, ctx));
  }
  app.get("/api/openapi.json", { config: { role: "public" } }, async (request) =>
    openApiDocument(app, `${request.protocol}://${request.host}`),
  );

  if (options.uiDir && index !== undefined) {
    await app.register(fastifyStatic, {
      root: options.uiDir,
      prefix: "/",
      wildcard: false,
      index: false,
      cacheControl: false,
      setHeaders: (reply, path) => reply.header("cache-control", uiCacheControl(path)),
    });
    app.get("/", { schema: { hide: true } }, (_request, reply) => sendIndex(reply, index));
  }
  return app;
}

/** A POST without a body (none, or an empty one labelled JSON, as curl -X POST and many clients
 * send) is parsed as no body, so a route whose body is optional accepts it. */
function acceptEmptyBodies(app: FastifyInstance): void {
  const json = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    return json(request, text, done);
  });
}

function readIndex(uiDir: string): string | undefined {
  try {
    return readFileSync(join(uiDir, "index.html"), "utf8");
  } catch {
    return undefined;
  }
}

/** The UI's HTML with a strict Content-Security-Policy: only our own scripts (no inline script, no
 * eval), no plugins, no framing, no foreign connections. */
function sendIndex(reply: FastifyReply, index: string) {
  return reply.header("content-security-policy", UI_CSP).type("text/html").send(index);
}
