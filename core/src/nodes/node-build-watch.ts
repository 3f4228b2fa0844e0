import type { Logger } from "@fabricore/protocol";
import { readBuildVersion } from "./build-mark.ts";
import type { NodeBinaries } from "./node-binaries.ts";

/** The served Node version as a value, or read each time (it follows a rebuild: NodeBuildWatch). */
export type ServedVersion = string | undefined | (() => string | undefined);

export function servedVersionNow(served: ServedVersion): string | undefined {
  return typeof served === "function" ? served() : served;
}

/** One state of the binary directory: what it serves, named by its files' path, size and mtime. */
export interface ServedBuild {
  /** The version the builds carry in their mark (this host's first), else the configured one. */
  version: string;
  fingerprint: string;
}

export interface NodeBuildWatchOptions {
  binaries: Pick<NodeBinaries, "locate" | "platforms">;
  /** FABRICORE_NODE_VERSION, else node/package.json's: the version of a build without a mark. */
  configuredVersion: string;
  /** How often the files are looked at. Default 2 s. */
  intervalMs?: number;
  /** The directory holds another build than before (it stayed the same for one interval). */
  onRebuilt: (build: ServedBuild, previous: ServedBuild) => void;
  logger: Pick<Logger, "info" | "warn">;
  readVersion?: (path: string) => Promise<string | undefined>;
}

/**
 * Notices a Node build replaced while the Core runs (`make build-node`), so that the hello, the
 * download's signature, GET /api/nodes and a rollout all name the new version, and connected Nodes
 * are offered it (core-nodes.ts, services/node-build-push.ts) instead of hearing of it only when
 * they reconnect.
 *
 * A periodic stat, not fs.watch: inotify does not see changes on every filesystem a binary
 * directory may be on (NFS, some bind mounts and Docker volumes), a watch fires many times while
 * 110 MB is written so it needs a timer anyway, and stat-ing at most three files every 2 s costs
 * nothing. The debounce is the stat itself: a change is taken once the files have the same size
 * and mtime on two polls in a row, so a half-written build is never read or offered.
 */
export class NodeBuildWatch {
  readonly #o: NodeBuildWatchOptions;
  #served: ServedBuild;
  /** A fingerprint seen once, taken if the next poll sees it again. */
  #pending: string | undefined;
  #polling = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: NodeBuildWatchOptions) {
    this.#o = options;
    this.#served = { version: options.configuredVersion, fingerprint: "" };
  }

  /** The version this Core serves now. */
  get version(): string {
    return this.#served.version;
  }

  get build(): ServedBuild {
    return this.#served;
  }

  /** Reads what is served now (before Nodes connect: their hello names the version), then polls. */
  async start(): Promise<void> {
    this.#served = await this.#read();
    this.#timer = setInterval(() => void this.poll(), this.#o.intervalMs ?? 2_000);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** One look at the files (the timer's; tests call it). */
  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const fingerprint = await this.#fingerprint();
      if (fingerprint === this.#served.fingerprint) {
        this.#pending = undefined;
        return;
      }
      if (fingerprint !== this.#pending) {
        // Still being written, perhaps: taken when the next poll sees the same files.
        this.#pending = fingerprint;
        return;
      }
      this.#pending = undefined;
      const next = await this.#read();
      if (next.fingerprint !== fingerprint) {
        this.#pending = next.fingerprint;
        return;
      }
      const previous = this.#served;
      this.#served = next;
      this.#o.logger.info({ from: previous.version, to: next.version }, "the Node build changed");
      this.#o.onRebuilt(next, previous);
    } catch (error) {
      this.#o.logger.warn({ err: (error as Error).message }, "looking at the Node builds failed");
    } finally {
      this.#polling = false;
    }
  }

  async #fingerprint(): Promise<string> {
    const parts: string[] = [];
    for (const platform of this.#o.binaries.platforms()) {
      const file = await this.#o.binaries.locate(platform);
      parts.push(file ? `${file.path}:${file.size}:${file.mtimeMs}` : `${platform}:-`);
    }
    return parts.join("|");
  }

  async #read(): Promise<ServedBuild> {
    const fingerprint = await this.#fingerprint();
    let version: string | undefined;
    for (const platform of this.#o.binaries.platforms()) {
      const file = await this.#o.binaries.locate(platform);
      if (!file) continue;
      version = await (this.#o.readVersion ?? readBuildVersion)(file.path).catch(() => undefined);
      // The first build (this host's) names the version; one without a mark: the configured one.
      break;
    }
    return { version: version ?? this.#o.configuredVersion, fingerprint };
  }
}
