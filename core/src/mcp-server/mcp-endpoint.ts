import { randomUUID } from "node:crypto";
import type { Logger } from "@fabricore/protocol";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Principal } from "../services/accounts.ts";

export interface McpEndpointDeps {
  /** The principal of a bearer token, or undefined (unknown, expired, revoked). */
  authenticate(token: string): Promise<Principal | undefined>;
  /** A new MCP server bound to a session's (current) principal; `onListed` gets the digest of
   * each tool list it answers (what the client now holds). */
  serverFor(principal: () => Principal, onListed: (digest: string) => void): Server;
  /** Changes when the principal's tool list would change (checked every `watchMs`). */
  toolsDigest(principal: Principal): Promise<string>;
  logger: Pick<Logger, "warn" | "error">;
  /** Open sessions per token; the least recently used goes when a new one would exceed it. */
  maxSessionsPerToken?: number;
  /** A session unused this long is closed (its client re-initializes on its next request). */
  idleMs?: number;
  /** How often each session's tool list is compared, for `notifications/tools/list_changed`. */
  watchMs?: number;
}

interface Session {
  id: string;
  transport: StreamableHTTPServerTransport;
  server: Server;
  principal: Principal;
  lastUsed: number;
  digest: string | undefined;
}

/** The security headers every other answer carries (the hijacked MCP answers skip Fastify's hook). */
const HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

function refuse(reply: FastifyReply, status: number, code: string, message: string, challenge?: string) {
  if (challenge) reply.header("www-authenticate", challenge);
  return reply.code(status).send({ error: { code, message } });
}

/**
 * `/mcp`: MCP Streamable HTTP (sessions with `Mcp-Session-Id`, SSE for streamed answers and for
 * server notifications on GET, DELETE to end a session), authenticated by a bearer token on EVERY
 * request — never by the UI's cookie, so a page in the browser cannot call it (no CSRF, no DNS
 * rebinding: a rebound page has no token). A session belongs to the token that opened it: another
 * token presenting its id gets 404, as for an unknown session.
 */
export async function mcpEndpoint(app: FastifyInstance, deps: McpEndpointDeps): Promise<void> {
  const sessions = new Map<string, Session>();
  const maxPerToken = deps.maxSessionsPerToken ?? 16;
  const idleMs = deps.idleMs ?? 30 * 60_000;
  const watchMs = deps.watchMs ?? 3_000;

  const close = async (session: Session, why: string) => {
    if (!sessions.delete(session.id)) return;
    await session.server
      .close()
      .catch((err: unknown) => deps.logger.warn({ err, why }, "closing an MCP session failed"));
  };

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const session of sessions.values()) if (now - session.lastUsed > idleMs) void close(session, "idle");
    },
    Math.min(idleMs, 60_000),
  );
  sweep.unref();

  // Nodes come and go, tools change: each session's list is compared and the client told.
  let watching = false;
  const watch = setInterval(async () => {
    if (watching) return;
    watching = true;
    try {
      // One digest per token and check: a token's sessions (an IDE opens several) see the same list.
      const byToken = new Map<string, Promise<string | undefined>>();
      for (const session of sessions.values()) {
        // Only a client that has listed holds a list that can go stale.
        if (session.digest === undefined) continue;
        let pending = byToken.get(session.principal.tokenId);
        if (!pending) {
          pending = deps.toolsDigest(session.principal).catch(() => undefined);
          byToken.set(session.principal.tokenId, pending);
        }
        const digest = (await pending) ?? session.digest;
        if (digest !== session.digest) {
          session.digest = digest;
          // Not awaited: a slow client's stream must not hold up the others' notifications.
          void session.server.sendToolListChanged().catch(() => {});
        }
      }
    } finally {
      watching = false;
    }
  }, watchMs);
  watch.unref();

  // preClose, not onClose: the server waits for open requests before onClose, and a client's
  // notification stream (GET /mcp) stays open until its session ends.
  app.addHook("preClose", async () => {
    clearInterval(sweep);
    clearInterval(watch);
    await Promise.all([...sessions.values()].map((s) => close(s, "shutdown")));
  });

  const challenge = 'Bearer realm="FabriCore"';
  app.route({
    method: ["GET", "POST", "DELETE"],
    url: "/mcp",
    schema: { hide: true },
    config: { role: "public" },
    handler: async (request, reply) => {
      const token = bearerOf(request);
      // A person who types the Core's /mcp into a browser (it was the MCP servers page until the
      // endpoint took the path) is sent to that page; MCP clients never ask for HTML.
      if (!token && request.method === "GET" && wantsHtml(request.headers.accept)) {
        const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
        return reply.redirect(`/mcp-servers${query}`, 302);
      }
      if (!token) {
        return refuse(reply, 401, "unauthorized", "send Authorization: Bearer <API token>", challenge);
      }
      const principal = await deps.authenticate(token);
      if (!principal) {
        return refuse(
          reply,
          401,
          "unauthorized",
          "invalid, expired or revoked token",
          `${challenge}, error="invalid_token"`,
        );
      }
      const sessionId = request.headers["mcp-session-id"];
      let session: Session | undefined;
      if (typeof sessionId === "string") {
        session = sessions.get(sessionId);
        if (!session || session.principal.tokenId !== principal.tokenId) {
          return refuse(reply, 404, "not_found", "unknown or expired MCP session; initialize a new one");
        }
        session.principal = principal;
        session.lastUsed = Date.now();
      } else if (request.method !== "POST") {
        return refuse(reply, 400, "invalid_request", "Mcp-Session-Id header required");
      }

      if (!session) {
        const mine = [...sessions.values()].filter((s) => s.principal.tokenId === principal.tokenId);
        if (mine.length >= maxPerToken) {
          const oldest = mine.reduce((a, b) => (a.lastUsed <= b.lastUsed ? a : b));
          await close(oldest, "too many sessions for one token");
        }
        const fresh: Partial<Session> & { principal: Principal } = {
          principal,
          lastUsed: Date.now(),
          digest: undefined,
        };
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            fresh.id = id;
            sessions.set(id, fresh as Session);
          },
          onsessionclosed: (id) => {
            const s = sessions.get(id);
            if (s) void close(s, "client ended it");
          },
        });
        const server = deps.serverFor(
          () => fresh.principal,
          (digest) => {
            fresh.digest = digest;
          },
        );
        fresh.transport = transport;
        fresh.server = server;
        await server.connect(transport);
        reply.hijack();
        for (const [name, value] of Object.entries(HEADERS)) reply.raw.setHeader(name, value);
        await transport.handleRequest(request.raw, reply.raw, request.body);
        // Not an initialize request (the SDK answered 400): nothing to keep.
        if (fresh.id === undefined) await server.close().catch(() => {});
        return reply;
      }
      reply.hijack();
      for (const [name, value] of Object.entries(HEADERS)) reply.raw.setHeader(name, value);
      await session.transport.handleRequest(request.raw, reply.raw, request.body);
      return reply;
    },
  });
}

/** A browser navigation asks for text/html first; MCP's GET asks for text/event-stream. */
function wantsHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.includes("text/html") && !accept.includes("text/event-stream");
}
