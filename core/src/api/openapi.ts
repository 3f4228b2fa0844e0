import type { FastifyInstance, RouteOptions } from "fastify";
import { z } from "zod";
import { CSRF_HEADER, type RouteRole, SESSION_COOKIE } from "./auth.ts";
import { OPERATIONS, type Operation } from "./openapi-operations.ts";
import { ErrorBody } from "./responses.ts";

/**
 * The OpenAPI document (issue 23). Requests come from each route's own zod schemas; answers,
 * operationId, summary and tag from OPERATIONS (one line per route, so the completeness test in
 * openapi.test.ts can demand one of every route anyone registers); error answers, security and
 * tags are filled in here by rule, identically for every route.
 */

export const TAGS = [
  { name: "auth", description: "Login, sessions and API tokens" },
  { name: "nodes", description: "The fleet: enrollment, Node identity, Node MCP servers" },
  { name: "providers", description: "LLM providers and their models" },
  { name: "secrets", description: "Write-only named secrets" },
  { name: "jobs", description: "Jobs and their manual runs" },
  { name: "runs", description: "Runs, their live events and approvals" },
  { name: "channels", description: "Where run results are sent: webhook, Slack, Discord, ntfy, email" },
  { name: "mcp", description: "MCP presets, and what MCP clients of /mcp did and wait for" },
  { name: "webhooks", description: "Incoming webhooks that start jobs" },
  { name: "admin", description: "Users, the audit log, the dashboard" },
  { name: "ops", description: "Health, metrics and this document" },
] as const;

export const SECURITY_SCHEMES = {
  bearer: {
    type: "http",
    scheme: "bearer",
    description: "An API token (fct_…, POST /api/tokens) or the session token from POST /api/auth/login",
  },
  session: {
    type: "apiKey",
    in: "cookie",
    name: SESSION_COOKIE,
    description: `The UI's HttpOnly session cookie, set by POST /api/auth/login; writes also need the ${CSRF_HEADER} header`,
  },
} as const;

const ERROR_TEXT: Record<number, string> = {
  400: "The request does not validate (error.details lists each problem)",
  401: "No, an invalid, expired or revoked credential",
  403: "The credential's role or scopes do not allow this (or the CSRF header is missing)",
  404: "Nothing with this id or name",
  409: "Conflicts with what exists",
  413: "The body is too large",
  423: "The user is locked after failed logins",
  429: "Too many requests; see Retry-After",
  500: "A bug or a stored secret that cannot be opened",
  502: "The LLM provider failed",
  503: "A Node is offline, or the database is busy (Retry-After)",
};

const errorResponse = (status: number) => ({
  description: ERROR_TEXT[status] ?? "Error",
  content: { "application/json": { schema: ErrorBody } },
});

const SUCCESS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted: it happens in the background",
  204: "No content",
};

/** `METHOD /path/{param}` of operations whose body may be left out (swagger marks every body
 * required). Per process, which is right: the same routes are registered by every app. */
const optionalBodies = new Set<string>();

/** Fills a route's schema for the document (and, for answers, for serialization). */
export function decorateRoute(route: RouteOptions): void {
  const schema = (route.schema ?? {}) as Record<string, unknown>;
  if (schema.hide === true) return;
  const methods = [route.method].flat().filter((m) => m !== "HEAD");
  const op = OPERATIONS[`${methods[0]} ${route.url}`];
  if (op === undefined || methods.length !== 1) {
    // Not described yet: in the document without an operationId, which openapi.test.ts refuses.
    route.schema = schema;
    return;
  }
  const body = schema.body as z.ZodType | undefined;
  if (body instanceof z.ZodType && body.safeParse(undefined).success) {
    optionalBodies.add(`${methods[0]?.toLowerCase()} ${openApiPath(route.url)}`);
  }
  const role = (route.config as { role?: RouteRole } | undefined)?.role;
  const isPublic = role === "public" && !op.ownBearer;
  const response: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(op.responses))
    response[status] = successResponse(Number(status), answer);
  for (const status of errorStatuses(schema, op, isPublic)) response[status] = errorResponse(status);
  route.schema = {
    ...schema,
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description && { description: op.description }),
    tags: [op.tag],
    ...(isPublic && { security: [] }),
    ...(op.ownBearer && { security: [{ bearer: [] }] }),
    ...(op.headers && { headers: op.headers }),
    response: { ...response, ...((schema.response as object | undefined) ?? {}) },
  };
}

function successResponse(status: number, answer: Operation["responses"][number]) {
  const description = SUCCESS_TEXT[status] ?? "OK";
  if (answer === null) return { description, content: {} };
  if (answer instanceof z.ZodType) return { description, content: { "application/json": { schema: answer } } };
  return {
    description: answer.description ?? description,
    content: { [answer.contentType]: { schema: answer.schema } },
  };
}

function errorStatuses(schema: Record<string, unknown>, op: Operation, isPublic: boolean): number[] {
  const statuses = new Set<number>([500, ...(op.errors ?? [])]);
  if (schema.body || schema.querystring || schema.params || schema.headers) statuses.add(400);
  if (schema.params) statuses.add(404);
  if (!isPublic) {
    statuses.add(401);
    statuses.add(403);
  }
  return [...statuses].sort();
}

/** The answers are written as sent: the zod response schemas describe them and the tests check
 * them (testing/openapi-responses.ts), but a field the schema does not name is never dropped,
 * and a mismatch never turns a good answer into a 500 for a user. */
export function plainSerializerCompiler() {
  return (data: unknown) => (typeof data === "string" ? data : JSON.stringify(data));
}

/** GET /api/openapi.json: the document with `servers` naming the address it was fetched from, so
 * a generated client's base URL is right behind a proxy too (Host / X-Forwarded-* when trusted). */
export function openApiDocument(app: FastifyInstance, origin: string): Record<string, unknown> {
  const document = structuredClone(app.swagger()) as unknown as OpenApiShape;
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (optionalBodies.has(`${method} ${path}`) && operation.requestBody) operation.requestBody.required = false;
    }
  }
  // The zod provider writes an input and an output variant of every named schema; the input ones
  // of answer-only schemas are referenced by nothing.
  const schemas = document.components?.schemas ?? {};
  const text = JSON.stringify(document.paths);
  for (const name of Object.keys(schemas)) {
    if (name.endsWith("Input") && !text.includes(`"#/components/schemas/${name}"`)) delete schemas[name];
  }
  return { ...document, servers: [{ url: origin, description: "this Core" }] };
}

interface OpenApiShape {
  paths?: Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  components?: { schemas?: Record<string, unknown> };
}

/** Fastify's `/a/:id` as OpenAPI's `/a/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
}
