import Docker from "dockerode";
import { dockerOptions } from "../../runtime/docker-api.ts";
import {
  type DockerProbe,
  probeDocker,
  shouldRunDockerSuite,
  testDockerEndpoint,
} from "../../runtime/testing/docker-suite.ts";

export interface McpDockerSuite {
  probe: DockerProbe;
  /** Whether the suite runs (always on CI, where a missing daemon then fails it). */
  run: boolean;
  /** A plain dockerode client beside the Node's own DockerApi, so the tests look at the daemon
   * with something other than the code they check. */
  raw: Docker;
}

/** What every real-Docker MCP suite starts with: the probe, the run decision and the raw client. */
export async function mcpDockerSuite(name: string): Promise<McpDockerSuite> {
  const probe = await probeDocker();
  return {
    probe,
    run: shouldRunDockerSuite(probe, name),
    raw: new Docker(dockerOptions(testDockerEndpoint())),
  };
}

/** Polls a synchronous check (a manager's status) every 20 ms until it is truthy. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
