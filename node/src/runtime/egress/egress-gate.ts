import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lookup as dnsLookup, Resolver } from "node:dns/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../logger.ts";
import { RuntimeError } from "../errors.ts";
import { FORWARDER_HOST, FORWARDER_PORT } from "./egress-forwarder.ts";
import { EgressPolicy, type Lookup } from "./egress-policy.ts";
import { type EgressCounters, EgressProxy } from "./egress-proxy.ts";

/** How the Node starts a forwarder: its own executable in forwarder mode (see main.ts), or, under
 * Node.js (tests), the forwarder's script. `nsenter` puts it into the container's network namespace. */
export function defaultForwarderCommand(): string[] {
  const compiled = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  return compiled
    ? [process.execPath, "__egress-forward"]
    : [process.execPath, join(import.meta.dirname, "egress-forwarder-main.ts")];
}

/** `--egress-dns 10.0.0.53:53`: the proxy resolves with that server; unset: the host's resolver. */
export function createLookup(dnsServer?: string): Lookup {
  if (!dnsServer) {
    return async (host) =>
      (await dnsLookup(host, { all: true, verbatim: true })).map((a) => ({
        address: a.address,
        family: a.family === 6 ? 6 : 4,
      }));
  }
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  resolver.setServers([dnsServer]);
  return async (host) => {
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const out = [
      ...(v4.status === "fulfilled" ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
      ...(v6.status === "fulfilled" ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
    ];
    if (out.length === 0 && v4.status === "rejected") throw v4.reason;
    return out;
  };
}

/** The environment that points a container's HTTP clients at its forwarder. */
export function proxyEnv(): string[] {
  const url = `http://${FORWARDER_HOST}:${FORWARDER_PORT}`;
  return [
    `HTTP_PROXY=${url}`,
    `HTTPS_PROXY=${url}`,
    `http_proxy=${url}`,
    `https_proxy=${url}`,
    "NO_PROXY=localhost,127.0.0.1,::1",
    "no_proxy=localhost,127.0.0.1,::1",
    // Node.js (24+) fetch and http honour the variables only when told to.
    "NODE_USE_ENV_PROXY=1",
  ];
}

export interface EgressGateOptions {
  /** Where the proxies' unix sockets live (below the Node's data dir, which is never mounted). */
  dir: string;
  lookup: Lookup;
  logger: Logger;
  forwarderCommand?: string[] | undefined;
  /** Whether this process may enter another network namespace (root); injected by tests. */
  canEnterNamespaces?: boolean | undefined;
}

/** One server's proxy and the forwarders bridged into its containers. */
export class EgressSession {
  readonly proxy: EgressProxy;
  private readonly forwarders = new Set<ChildProcess>();
  private readonly options: EgressGateOptions;

  constructor(proxy: EgressProxy, options: EgressGateOptions) {
    this.proxy = proxy;
    this.options = options;
  }

  get counters(): EgressCounters {
    return this.proxy.counters;
  }

  /** Starts a forwarder in the network namespace of the container whose first process is `pid`. */
  async attach(pid: number): Promise<void> {
    const [command, ...args] = this.options.forwarderCommand ?? defaultForwarderCommand();
    const child = spawn(
      "nsenter",
      [`--target=${pid}`, "--net", "--", command!, ...args, String(FORWARDER_PORT), this.proxy.socketPath],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    this.forwarders.add(child);
    child.once("exit", () => this.forwarders.delete(child));
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error("the forwarder did not start within 10 s")), 10_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(
          new RuntimeError(
            "container_failed",
            `egress forwarder for pid ${pid}: ${error.message}${stderr ? `: ${stderr.trim()}` : ""}`,
          ),
        );
      };
      child.once("error", fail);
      child.once("exit", (code) => fail(new Error(`exited with code ${code}`)));
      child.stdout?.on("data", (chunk: Buffer) => {
        if (!chunk.toString().includes("ready")) return;
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.once("exit", () => this.forwarders.delete(child));
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const child of this.forwarders) {
      child.stdin?.end();
      child.kill("SIGTERM");
    }
    this.forwarders.clear();
    await this.proxy.close();
  }
}

/** Opens egress sessions for servers with an allow list. */
export class EgressGate {
  private readonly options: EgressGateOptions;
  private readonly listeners = new Set<(server: string) => void>();

  constructor(options: EgressGateOptions) {
    this.options = options;
  }

  /** Told after each connection a server's proxy decided (its counters changed). */
  onDecision(listener: (server: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async open(server: string, rules: readonly string[]): Promise<EgressSession> {
    if (!(this.options.canEnterNamespaces ?? process.getuid?.() === 0)) {
      throw new RuntimeError(
        "invalid_spec",
        "egress allow lists need the Node to run as root: it bridges the proxy into the container's network namespace",
      );
    }
    await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const { logger } = this.options;
    const proxy = new EgressProxy({
      // Unix socket paths are limited to ~107 bytes: a short random name, not the server's.
      socketPath: join(this.options.dir, `${randomBytes(6).toString("hex")}.sock`),
      policy: new EgressPolicy(rules, this.options.lookup),
      onEvent: (event) => {
        if (event.allowed) logger.info({ server, target: event.target, method: event.method }, "egress allowed");
        else
          logger.warn({ server, target: event.target, method: event.method, reason: event.reason }, "egress refused");
        for (const listener of this.listeners) listener(server);
      },
    });
    await proxy.listen();
    return new EgressSession(proxy, this.options);
  }
}
