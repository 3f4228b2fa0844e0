import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Logger as PinoLogger } from "pino";
import { installScriptRoutes } from "./api/routes/install-script.ts";
import { nodeBinaryRoutes } from "./api/routes/node-binary.ts";
import { nodeIdentityRoutes } from "./api/routes/node-identity.ts";
import { buildApp, parseTrustProxy } from "./app.ts";
import type { CoreContext } from "./core-context.ts";
import type { CoreEnv } from "./env.ts";
import { mountFleetMcp } from "./mcp-server/index.ts";
import type { NodeBinaries } from "./nodes/node-binaries.ts";
import type { NodeHub } from "./nodes/node-hub.ts";
import type { NodeIdentityService } from "./nodes/node-identity-service.ts";
import type { ReleaseKey } from "./nodes/release-key.ts";

export interface CoreHttpOptions {
  env: CoreEnv;
  ctx: CoreContext;
  /** This process's hub: Nodes connect by upgrading a request to this server. */
  hub: NodeHub;
  identity: NodeIdentityService;
  /** The builds served, and the version they are served as (it follows a rebuild: node-build-watch.ts). */
  binaries: NodeBinaries;
  nodeVersion: () => string;
  releaseKey: ReleaseKey;
  logger: PinoLogger;
}

/** The HTTP server: the API and UI (app.ts), the routes the Nodes use (enrollment, binaries, the
 * install script), the fleet's MCP endpoint, and the Node WebSocket upgrade. */
export async function buildHttp(options: CoreHttpOptions): Promise<FastifyInstance> {
  const { env, ctx, logger, nodeVersion, releaseKey } = options;
  const uiDir = env.FABRICORE_UI_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "ui", "dist");
  const app = await buildApp(ctx, {
    logger,
    uiDir,
    trustProxy: parseTrustProxy(env.FABRICORE_TRUST_PROXY),
    https: env.FABRICORE_TLS_CERT
      ? { cert: readFileSync(env.FABRICORE_TLS_CERT), key: readFileSync(env.FABRICORE_TLS_KEY!) }
      : undefined,
  });
  await app.register(async (scope) =>
    nodeIdentityRoutes(scope, {
      identity: options.identity,
      resolveNode: (idOrName) => ctx.fleet.get(idOrName),
      updateKey: releaseKey.publicKey,
    }),
  );
  const nodeBinaries = options.binaries;
  await app.register(async (scope) => nodeBinaryRoutes(scope, { binaries: nodeBinaries, nodeVersion, releaseKey }));
  await app.register(async (scope) =>
    installScriptRoutes(scope, { binaries: nodeBinaries, nodeVersion, publicUrl: env.FABRICORE_PUBLIC_URL }),
  );
  await mountFleetMcp(app, ctx, {
    toolDeadlineMs: env.FABRICORE_TOOL_TIMEOUT_SECONDS * 1000,
    callsPerMinute: env.FABRICORE_MCP_CALLS_PER_MINUTE,
    maxListedTools: env.FABRICORE_MCP_MAX_TOOLS,
    logger: logger.child({ room: "mcp-server" }),
  });
  app.server.on("upgrade", (request, socket, head) => {
    if (!options.hub.handleUpgrade(request, socket, head)) socket.destroy();
  });
  return app;
}
