import { PassThrough, type Readable, type Writable } from "node:stream";
import Docker from "dockerode";
import { dockerMessage, isNotFound, RuntimeError } from "./errors.ts";

/*
 * The slice of the Docker Engine API the MCP runtime uses, and nothing more: a fake for unit tests
 * is a dozen lines, and the Node binary does not carry an API it never calls. Field names follow
 * the Engine API (PascalCase) so a reader can check them against Docker's documentation.
 */

export interface BindMount {
  Type: "bind";
  Source: string;
  Target: string;
  ReadOnly: boolean;
}

/** The body of `POST /containers/create`, restricted to the fields the runtime sets. */
export interface ContainerCreateSpec {
  name?: string;
  Image: string;
  Cmd: string[];
  Env: string[];
  Labels: Record<string, string>;
  User?: string;
  OpenStdin: true;
  StdinOnce: false;
  AttachStdin: true;
  AttachStdout: true;
  AttachStderr: true;
  Tty: false;
  HostConfig: {
    Mounts: BindMount[];
    ReadonlyRootfs: true;
    Tmpfs: Record<string, string>;
    CapDrop: ["ALL"];
    SecurityOpt: string[];
    NetworkMode: string;
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    RestartPolicy: { Name: "no" };
    AutoRemove: false;
    Privileged: false;
  };
}

export interface ImageInfo {
  id: string;
  /** The image's configured user ("" when it runs as root by default). */
  user: string;
  labels: Record<string, string>;
}

export interface ContainerInfo {
  id: string;
  name: string;
  running: boolean;
  status: string;
  exitCode: number;
  oomKilled: boolean;
  error: string;
  labels: Record<string, string>;
}

export interface ContainerSummary {
  id: string;
  state: string;
  labels: Record<string, string>;
}

/** A container's stdio over one hijacked attach connection; stdout and stderr already demultiplexed. */
export interface AttachedStdio {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** Drops the connection; the container keeps running (it was created with `StdinOnce: false`). */
  close(): void;
}

export interface DockerApi {
  ping(): Promise<void>;
  /** `undefined` when the image is not on this host. */
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  /** Pulls and waits for the pull to finish; rejects with the daemon's reason. */
  pullImage(ref: string, signal?: AbortSignal): Promise<void>;
  createContainer(spec: ContainerCreateSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  attachContainer(id: string): Promise<AttachedStdio>;
  /** `undefined` when there is no such container. */
  inspectContainer(id: string): Promise<ContainerInfo | undefined>;
  /** Force-removes (kills first if running); a container already gone is not an error. */
  removeContainer(id: string): Promise<void>;
  /** Every container, running or not, carrying all of these labels. */
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;
  /** Resolves with the exit code once the container stops. */
  waitContainer(id: string, signal?: AbortSignal): Promise<number>;
}

/** Where the Docker daemon listens: a unix socket path, `unix:///path`, or `tcp://host:port` (DOCKER_HOST forms). */
export function dockerOptions(endpoint: string): Docker.DockerOptions {
  if (endpoint.startsWith("unix://")) return { socketPath: endpoint.slice("unix://".length) };
  if (endpoint.startsWith("tcp://") || endpoint.startsWith("http://")) {
    const url = new URL(endpoint.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
  }
  return { socketPath: endpoint };
}

/** The DockerApi over dockerode, talking to the daemon at `endpoint` (default: the local socket). */
export function createDockerApi(endpoint = "/var/run/docker.sock"): DockerApi {
  const docker = new Docker(dockerOptions(endpoint));
  const unavailable = (error: unknown) =>
    new RuntimeError("docker_unavailable", `Docker at ${endpoint} is not reachable: ${dockerMessage(error)}`, {
      cause: error,
    });

  const api: DockerApi = {
    async ping() {
      try {
        await docker.ping();
      } catch (error) {
        throw unavailable(error);
      }
    },

    async inspectImage(ref) {
      try {
        const info = await docker.getImage(ref).inspect();
        return { id: info.Id, user: info.Config?.User ?? "", labels: info.Config?.Labels ?? {} };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async pullImage(ref, signal) {
      // The pull answers at once with a progress stream; failures (unknown image, registry down)
      // arrive either as the HTTP error or as an `error` event inside that stream.
      const stream = (await docker.pull(ref, signal ? { abortSignal: signal } : {})) as Readable;
      await new Promise<void>((resolve, reject) => {
        docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
          const failed = events?.find((event) => event.error);
          if (error) reject(error);
          else if (failed?.error) reject(new Error(failed.error));
          else resolve();
        });
      });
    },

    async createContainer(spec) {
      const container = await docker.createContainer(spec as unknown as Docker.ContainerCreateOptions);
      return container.id;
    },

    async startContainer(id) {
      await docker.getContainer(id).start();
    },

    async attachContainer(id) {
      // `hijack` turns the HTTP connection into a raw duplex socket, so stdin can be written to it;
      // with `Tty: false` the daemon frames stdout and stderr (8-byte headers) and demuxStream splits them.
      const stream = (await docker.getContainer(id).attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as NodeJS.ReadWriteStream & Writable & Readable;
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      docker.modem.demuxStream(stream, stdout, stderr);
      const end = () => {
        stdout.end();
        stderr.end();
      };
      stream.on("end", end);
      stream.on("close", end);
      stream.on("error", (error: Error) => {
        stdout.destroy(error);
        stderr.end();
      });
      return {
        stdin: stream,
        stdout,
        stderr,
        close: () => {
          stream.destroy();
          end();
        },
      };
    },

    async inspectContainer(id) {
      try {
        const info = await docker.getContainer(id).inspect();
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ""),
          running: info.State.Running,
          status: info.State.Status,
          exitCode: info.State.ExitCode,
          oomKilled: info.State.OOMKilled,
          error: info.State.Error ?? "",
          labels: info.Config.Labels ?? {},
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async removeContainer(id) {
      try {
        await docker.getContainer(id).remove({ force: true, v: true });
      } catch (error) {
        // 404: already gone; 409: removal already in progress (a concurrent cleanup). Both mean "gone soon".
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404 || status === 409) return;
        throw error;
      }
    },

    async listContainers(labels) {
      const list = await docker.listContainers({
        all: true,
        filters: JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) }),
      });
      return list.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels ?? {} }));
    },

    async waitContainer(id, signal) {
      const result = (await docker.getContainer(id).wait(signal ? { abortSignal: signal } : {})) as {
        StatusCode: number;
      };
      return result.StatusCode;
    },
  };
  // A daemon that is down (no socket, refused, reset) is one clear error whatever the call was.
  const wrapped = {} as Record<string, unknown>;
  for (const [name, method] of Object.entries(api) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
    wrapped[name] = async (...args: unknown[]) => {
      try {
        return await method(...args);
      } catch (error) {
        if (error instanceof RuntimeError) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET" || code === "EACCES") {
          throw unavailable(error);
        }
        throw error;
      }
    };
  }
  return wrapped as unknown as DockerApi;
}
