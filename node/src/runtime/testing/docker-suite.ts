import { createDockerApi, type DockerApi } from "../docker-api.ts";

/** Where tests find the daemon: DOCKER_HOST (unix:// or tcp://) or the default socket. */
export function testDockerEndpoint(): string {
  return process.env.DOCKER_HOST ?? "/var/run/docker.sock";
}

export interface DockerProbe {
  docker: DockerApi;
  available: boolean;
  /** Why Docker is not usable, for the skip (or CI failure) message. */
  reason: string;
}

/**
 * Checks once whether a Docker daemon answers. Suites that need it use `requireDocker()`:
 * locally a missing daemon skips them with a message; with CI=true it fails them, so a CI machine
 * without Docker cannot pass by skipping.
 */
export async function probeDocker(): Promise<DockerProbe> {
  const endpoint = testDockerEndpoint();
  const docker = createDockerApi(endpoint);
  try {
    await docker.ping();
    return { docker, available: true, reason: "" };
  } catch (error) {
    // ping() already names the endpoint and the cause.
    return { docker, available: false, reason: (error as Error).message };
  }
}

export const onCi = process.env.CI === "true" || process.env.CI === "1";

/** Whether to run a Docker suite; logs why when it is skipped. On CI it always runs (and fails without Docker). */
export function shouldRunDockerSuite(probe: DockerProbe, suite: string): boolean {
  if (probe.available || onCi) return true;
  console.warn(`[${suite}] skipped: ${probe.reason} (start dockerd, or set CI=true to make this a failure)`);
  return false;
}

/** Throws on CI when Docker is missing, so the suite fails with the reason instead of passing vacuously. */
export function assertDocker(probe: DockerProbe): void {
  if (!probe.available) throw new Error(`Docker is required for this suite on CI: ${probe.reason}`);
}
