import { PassThrough, type Readable, type Writable } from "node:stream";
import {
  demuxStream,
  type EngineEndpoint,
  engineHijack,
  engineJson,
  engineStream,
  followJsonLines,
} from "./docker-engine.ts";
import { dockerMessage, isNotFound, RuntimeError } from "./errors.ts";

/*
 * The slice of the Docker Engine API the MCP runtime uses, and nothing more: a fake for unit tests
 * is a dozen lines, and the Node binary does not carry an API it never calls. Field names follow
 * the Engine API (PascalCase) so a reader can check them against Docker's documentation. Spoken over
 * plain HTTP (docker-engine.ts), unversioned paths: the daemon's own API version, as dockerode did.
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
  /** The container's first process as the host sees it (0 when not running). */
  pid: number;
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
  /**
   * The last `tail` lines of one stream of the container's log (`timestamps=1`), as text. At most
   * `maxBytes` are kept, the newest; `truncated` when older bytes were dropped for it.
   */
  containerLogs(
    id: string,
    options: { stream: "stdout" | "stderr"; tail: number; maxBytes: number },
  ): Promise<{ text: string; truncated: boolean }>;
}

/** Reading a log stops here, whatever `tail` asked for: a server that wrote one enormous line. */
const LOG_READ_LIMIT = 64 * 1024 * 1024;

/**
 * Where the Docker daemon listens: a unix socket path, `unix:///path`, or `tcp://host:port` (DOCKER_HOST
 * forms). The same option names as dockerode's, so tests can hand them to their own dockerode client.
 */
export function dockerOptions(endpoint: string): EngineEndpoint {
  if (endpoint.startsWith("unix://")) return { socketPath: endpoint.slice("unix://".length) };
  if (endpoint.startsWith("tcp://") || endpoint.startsWith("http://")) {
    const url = new URL(endpoint.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375), protocol: "http" };
  }
  return { socketPath: endpoint };
}

/**
 * `name:tag` → the pull's `fromImage` and `tag`. Without a tag the daemon pulls EVERY tag of the
 * repository, so an untagged reference means `latest`, as `docker pull` does. A colon followed by a
 * slash is a registry's port, not a tag; a digest (`@sha256:…`) is passed as the tag.
 */
export function splitImageRef(ref: string): { fromImage: string; tag: string } {
  const digest = ref.indexOf("@");
  const colon = ref.lastIndexOf(":");
  const at = digest >= 0 ? digest : colon;
  if (at >= 0 && !ref.slice(at + 1).includes("/")) return { fromImage: ref.slice(0, at), tag: ref.slice(at + 1) };
  return { fromImage: ref, tag: "latest" };
}

interface EngineImage {
  Id: string;
  Config?: { User?: string; Labels?: Record<string, string> | null } | null;
}

interface EngineContainer {
  Id: string;
  Name: string;
  State: { Running: boolean; Status: string; ExitCode: number; OOMKilled: boolean; Error?: string; Pid?: number };
  Config: { Labels?: Record<string, string> | null };
}

/** A name in a path: `/`, `:` and `@` stay as they are (the daemon routes `/images/{name:.*}/json`). */
const ref = (name: string) => encodeURI(name);

/** The DockerApi over the Engine API, talking to the daemon at `endpoint` (default: the local socket). */
export function createDockerApi(endpoint = "/var/run/docker.sock"): DockerApi {
  const at = dockerOptions(endpoint);
  const unavailable = (error: unknown) =>
    new RuntimeError("docker_unavailable", `Docker at ${endpoint} is not reachable: ${dockerMessage(error)}`, {
      cause: error,
    });

  const api: DockerApi = {
    async ping() {
      try {
        await engineJson(at, { method: "GET", path: "/_ping" });
      } catch (error) {
        throw unavailable(error);
      }
    },

    async inspectImage(name) {
      try {
        const info = await engineJson<EngineImage>(at, { method: "GET", path: `/images/${ref(name)}/json` });
        return { id: info.Id, user: info.Config?.User ?? "", labels: info.Config?.Labels ?? {} };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },

    async pullImage(name, signal) {
      // The pull answers at once with a progress stream; failures (unknown image, registry down)
      // arrive either as the HTTP error or as an `error` event inside that stream.
      const stream = await engineStream(at, {
        method: "POST",
        path: "/images/create",
        query: splitImageRef(name),
        signal,
      });
      const events = (await followJsonLines(stream)) as Array<{ error?: string } | string>;
      const failed = events.find((event) => typeof event === "object" && event?.error);
      if (failed && typeof failed === "object") throw new Error(failed.error);
    },

    async createContainer(spec) {
      const { name, ...body } = spec;
      const created = await engineJson<{ Id: string }>(at, {
        method: "POST",
        path: "/containers/create",
        query: { name },
        body,
      });
      return created.Id;
    },

    async startContainer(id) {
      await engineJson(at, { method: "POST", path: `/containers/${ref(id)}/start` });
    },

    async attachContainer(id) {
      // The connection is hijacked (a raw duplex socket), so stdin can be written to it; with
      // `Tty: false` the daemon frames stdout and stderr (8-byte headers) and demuxStream splits them.
      const stream = await engineHijack(at, {
        method: "POST",
        path: `/containers/${ref(id)}/attach`,
        query: { stream: 1, stdin: 1, stdout: 1, stderr: 1 },
      });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      demuxStream(stream, stdout, stderr);
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
        stdin: stream as Writable,
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
        const info = await engineJson<EngineContainer>(at, { method: "GET", path: `/containers/${ref(id)}/json` });
        return {
          id: info.Id,
          name: info.Name.replace(/^\//, ""),
          running: info.State.Running,
          status: info.State.Status,
          exitCode: info.State.ExitCode,
          oomKilled: info.State.OOMKilled,
          pid: info.State.Pid ?? 0,
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
        await engineJson(at, { method: "DELETE", path: `/containers/${ref(id)}`, query: { force: true, v: true } });
      } catch (error) {
        // 404: already gone; 409: removal already in progress (a concurrent cleanup). Both mean "gone soon".
        const status = (error as { statusCode?: number }).statusCode;
        if (status === 404 || status === 409) return;
        throw error;
      }
    },

    async listContainers(labels) {
      const list = await engineJson<Array<{ Id: string; State: string; Labels?: Record<string, string> | null }>>(at, {
        method: "GET",
        path: "/containers/json",
        query: {
          all: true,
          filters: JSON.stringify({ label: Object.entries(labels).map(([key, value]) => `${key}=${value}`) }),
        },
      });
      return list.map((c) => ({ id: c.Id, state: c.State, labels: c.Labels ?? {} }));
    },

    async waitContainer(id, signal) {
      const result = await engineJson<{ StatusCode: number }>(at, {
        method: "POST",
        path: `/containers/${ref(id)}/wait`,
        signal,
      });
      return result.StatusCode;
    },

    async containerLogs(id, { stream, tail, maxBytes }) {
      const res = await engineStream(at, {
        method: "GET",
        path: `/containers/${ref(id)}/logs`,
        query: { stdout: stream === "stdout" ? 1 : 0, stderr: stream === "stderr" ? 1 : 0, tail, timestamps: 1 },
      });
      // Not a TTY: the log comes framed like attach; only the asked-for stream is in it.
      const out = new PassThrough();
      demuxStream(res, out, out);
      res.on("end", () => out.end());
      res.on("error", (error: Error) => out.destroy(error));
      const kept: Buffer[] = [];
      let size = 0;
      let read = 0;
      let truncated = false;
      for await (const chunk of out) {
        const buffer = chunk as Buffer;
        kept.push(buffer);
        size += buffer.length;
        read += buffer.length;
        while (size > maxBytes && kept.length > 1) {
          size -= kept.shift()?.length ?? 0;
          truncated = true;
        }
        if (read > LOG_READ_LIMIT) {
          truncated = true;
          res.destroy();
          break;
        }
      }
      let text = Buffer.concat(kept).toString("utf8");
      if (text.length > maxBytes) {
        // Cut at a line start, so the first line kept is a whole one.
        text = text.slice(text.indexOf("\n", text.length - maxBytes) + 1);
        truncated = true;
      }
      return { text, truncated };
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
