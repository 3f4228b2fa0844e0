import type { FastifyInstance } from "fastify";
import { CoreError } from "../../errors.ts";
import { InstallScriptError, installScriptFor } from "../../nodes/install-script.ts";
import type { NodeBinaries } from "../../nodes/node-binaries.ts";
import { type ServedVersion, servedVersionNow } from "../../nodes/node-build-watch.ts";

export const INSTALL_SCRIPT_PATH = "/install.sh";

/**
 * `GET /install.sh` (public, CONTRACT "Node lifecycle"): the POSIX sh installer with this Core's URL
 * and the SHA-256 of each platform's Node written in. The URL is FABRICORE_PUBLIC_URL when set,
 * else the one the request came to (Host, or X-Forwarded-* from a trusted proxy), so the command the
 * enroll dialog shows works from wherever the browser reached the Core.
 */
export async function installScriptRoutes(
  app: FastifyInstance,
  deps: { binaries: NodeBinaries; nodeVersion: ServedVersion; publicUrl?: string | undefined },
): Promise<void> {
  app.get(INSTALL_SCRIPT_PATH, { config: { role: "public" } }, async (request, reply) => {
    const coreUrl = deps.publicUrl ?? `${request.protocol}://${request.host}`;
    let script: string;
    try {
      script = await installScriptFor(deps.binaries, coreUrl, servedVersionNow(deps.nodeVersion) ?? "unknown");
    } catch (error) {
      if (error instanceof InstallScriptError) throw new CoreError("bad_request", error.message);
      throw error;
    }
    // text/plain: a browser shows it (read it before piping it to sh). Never cached: the digests
    // change with every build.
    return reply.type("text/plain; charset=utf-8").header("cache-control", "no-store").send(script);
  });
}
