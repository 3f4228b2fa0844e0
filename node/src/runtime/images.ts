import type { DockerApi, ImageInfo } from "./docker-api.ts";
import { dockerMessage, RuntimeError } from "./errors.ts";

/** How long a pull may take before the server is reported failed rather than "starting" forever. */
export const PULL_TIMEOUT_MS = 10 * 60_000;

/**
 * The image's details, pulling it first when it is not on this host. A pull that fails (unknown
 * image, no registry reachable, no credentials) becomes an `image_unavailable` error that names
 * the image and carries the daemon's reason, since that is what the operator has to fix.
 */
export async function ensureImage(docker: DockerApi, ref: string, signal?: AbortSignal): Promise<ImageInfo> {
  const present = await docker.inspectImage(ref);
  if (present) return present;
  const timeout = AbortSignal.timeout(PULL_TIMEOUT_MS);
  try {
    await docker.pullImage(ref, signal ? AbortSignal.any([signal, timeout]) : timeout);
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${PULL_TIMEOUT_MS / 1000} s` : dockerMessage(error);
    throw new RuntimeError(
      "image_unavailable",
      `image ${JSON.stringify(ref)} is not on this host and could not be pulled: ${reason}`,
      {
        cause: error,
      },
    );
  }
  const pulled = await docker.inspectImage(ref);
  if (!pulled) {
    throw new RuntimeError(
      "image_unavailable",
      `image ${JSON.stringify(ref)} was pulled but is still not on this host`,
    );
  }
  return pulled;
}
