import type { FastifyReply, FastifyRequest } from "fastify";
import type { Role } from "../database/schema.ts";
import { CoreError } from "../errors.ts";
import type { Principal } from "../services/accounts.ts";
import type { AuditActor } from "../services/audit.ts";

export const SESSION_COOKIE = "fabricore_session";
/** Cookie-authenticated writes must carry this header. A cross-site form cannot set a custom
 * header, and a cross-site fetch that sets one needs a CORS preflight the Core never grants. */
export const CSRF_HEADER = "x-fabricore-csrf";

/** The least role a route needs; `public` routes are not authenticated at all. */
export type RouteRole = Role | "public";

declare module "fastify" {
  interface FastifyContextConfig {
    role?: RouteRole;
  }
}

/** Resolves a presented token (API token or session token) to a principal; undefined when the
 * token is unknown, expired or revoked. Implemented over the tokens repository in main.ts. */
export type TokenAuthenticator = (
  token: string,
  via: Principal["via"],
  request: FastifyRequest,
) => Promise<Principal | undefined>;

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** onRequest hook for every /api route except the public ones: authenticate, then check CSRF for
 * cookie writes. Role checks are per route (`requireRole`). */
export function authHook(authenticate: TokenAuthenticator) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const bearer = bearerToken(request);
    const cookie = request.cookies?.[SESSION_COOKIE];
    const token = bearer ?? cookie;
    if (!token) throw new CoreError("unauthorized", "authentication required: send Authorization: Bearer <token>");
    const principal = await authenticate(token, bearer ? "bearer" : "cookie", request);
    if (!principal) throw new CoreError("unauthorized", "invalid, expired or revoked token");
    if (principal.via === "cookie" && !["GET", "HEAD", "OPTIONS"].includes(request.method)) {
      if (request.headers[CSRF_HEADER] === undefined) {
        throw new CoreError(
          "csrf_required",
          `cookie-authenticated requests that change state need the ${CSRF_HEADER} header`,
        );
      }
    }
    request.principal = principal;
  };
}

/** The authenticated principal's role must be at least `role` (403 otherwise). */
export function requireRank(request: FastifyRequest, role: RouteRole): void {
  if (role === "public") return;
  const principal = request.principal;
  if (!principal) throw new CoreError("unauthorized", "authentication required");
  if (rank[principal.role] < rank[role]) {
    throw new CoreError("forbidden", `this needs the ${role} role; you are ${principal.role}`);
  }
}

/** preHandler form of requireRank (routes declare `config: { role }` instead; kept for plugins). */
export function requireRole(role: Role) {
  return async (request: FastifyRequest): Promise<void> => requireRank(request, role);
}

/** The actor of an HTTP request for the audit log (after authentication; "anonymous" before). */
export function actorOf(request: FastifyRequest): AuditActor {
  return { actor: request.principal?.username ?? "anonymous", ip: request.ip };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new CoreError("unauthorized", "authentication required");
  return request.principal;
}
