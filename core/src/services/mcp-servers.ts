import {
  checkMounts,
  type McpMount,
  type McpNetwork,
  McpNetwork as McpNetworkSchema,
  type McpServerSpec,
  McpServerSpec as McpServerSpecSchema,
  mcpSource,
} from "@fabricore/protocol";
import type { McpServersRepo, SecretsRepo } from "../database/index.ts";
import { CoreError } from "../errors.ts";
import type { NodeAccess } from "../nodes/node-access.ts";
import type { Fleet } from "./fleet.ts";
import { optionLikeProblems, type PresetRequest } from "./mcp-presets.ts";
import { asCoreError, expectKind, redactLogs, serverValueRedactor } from "./mcp-server-ops.ts";

/** The marketplace as the service needs it (core/src/services/mcp-presets.ts provides it). */
export interface PresetCatalog {
  list(): unknown[];
  /** Turns a preset request into a full container spec; throws a CoreError naming what is wrong. */
  resolve(presetId: string, request: PresetRequest): McpServerSpec;
  /** A preset's own network (what a server from it gets unless the request names another). */
  network(presetId: string): McpNetwork | undefined;
}

/** What a caller asks for: a remote server by URL, or a container from a preset or an image (the
 * API checks the shape at its edge, McpBody in api/schemas.ts). */
export type McpServerRequest =
  | { name: string; url: string }
  | {
      name: string;
      preset?: string | undefined;
      image?: string | undefined;
      mounts: readonly McpMount[];
      env: Record<string, string>;
      settings: Record<string, string | { secret: string }>;
      args: string[];
      network?: McpNetwork | undefined;
    };

type StoredSpec =
  | { kind: "remote"; url: string }
  | {
      kind: "managed";
      preset?: string | undefined;
      image?: string | undefined;
      mounts: Array<{ source: string; target: string; readOnly: boolean }>;
      env: Record<string, string>;
      settings: Record<string, string | { secret: string }>;
      args: string[];
      /** As stored; rows written before egress rules hold a boolean (parsed by McpNetwork). */
      network?: McpNetwork | boolean | undefined;
    };

/**
 * The MCP servers each Node should run. The request is stored as given (secret settings by
 * reference, never by value); the full spec with secret values decrypted is built only at the
 * moment it is sent to the Node that runs it.
 */
export class McpServers {
  private readonly deps: {
    repo: McpServersRepo;
    secrets: SecretsRepo;
    hub: NodeAccess;
    fleet: Fleet;
    presets: PresetCatalog;
    /** Stored secrets → `[secret:NAME]` (the run transcripts' redactor) in logs and error texts. */
    redactor?: { redact(text: string): string } | undefined;
  };

  constructor(deps: McpServers["deps"]) {
    this.deps = deps;
  }

  presets(): unknown[] {
    return this.deps.presets.list();
  }

  async add(nodeRef: string, body: McpServerRequest) {
    const node = await this.deps.fleet.get(nodeRef);
    if (await this.deps.repo.get(node.id, body.name)) {
      throw new CoreError("conflict", `node ${node.name} already has an MCP server named ${body.name}`);
    }
    const stored = this.toStored(body);
    if (stored.kind === "remote") this.checkRemoteUrl(stored.url, node.id);
    // Resolve now so a bad request (unknown preset, forbidden mount, missing secret) is refused
    // before anything is stored or sent.
    await this.resolve(body.name, stored);
    await this.deps.repo.put(node.id, body.name, stored as unknown as Record<string, unknown>);
    await this.pushToNode(node.id);
    return this.describe(node.id, body.name, stored);
  }

  async list(nodeRef: string) {
    const node = await this.deps.fleet.get(nodeRef);
    const rows = await this.deps.repo.list(node.id);
    return Promise.all(
      rows.map(async (row) => {
        const stored = row.spec as unknown as StoredSpec;
        // desiredFor() leaves out a server whose spec no longer resolves (its secret was deleted):
        // the Node never hears of it, so without this the list would say "starting" forever.
        const unsendable = await this.resolve(row.name, stored).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
        return this.describe(node.id, row.name, stored, unsendable);
      }),
    );
  }

  async remove(nodeRef: string, name: string): Promise<void> {
    const node = await this.deps.fleet.get(nodeRef);
    if (!(await this.deps.repo.delete(node.id, name)))
      throw new CoreError("not_found", `no MCP server ${name} on ${node.name}`);
    await this.pushToNode(node.id);
  }

  /**
   * Stops the server on its Node and starts it again (a failed one is retried afresh); the Node's
   * policy decides again. Answers the server's view with the state after the first attempt.
   */
  async restart(nodeRef: string, name: string) {
    const { node, stored } = await this.stored(nodeRef, name);
    const unsendable = await this.resolve(name, stored).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    // The Node was never sent it: a restart there cannot help; the reason is the answer.
    if (unsendable !== undefined) throw new CoreError("conflict", `${name} is not sent to the Node: ${unsendable}`);
    const what = `restarting ${name} on ${node.name}`;
    const result = await this.deps.hub.mcpServerOp(node.id, { kind: "restart", name }).catch((error: unknown) => {
      throw asCoreError(error, what);
    });
    const server = expectKind(result, "restart").server;
    const redact = this.redact(stored);
    // The Node's answer is newer than the hub's last status report.
    return {
      ...this.describe(node.id, name, stored),
      state: server.state,
      error: server.error === undefined ? null : redact(server.error),
      restarts: server.restarts,
      lastCrash: server.lastCrash ? { ...server.lastCrash, reason: redact(server.lastCrash.reason) } : null,
    };
  }

  /** The last `tail` lines the server wrote (its container's log, or what the Node kept), redacted. */
  async logs(nodeRef: string, name: string, tail: number) {
    const { node, stored } = await this.stored(nodeRef, name);
    const what = `reading the logs of ${name} on ${node.name}`;
    const result = await this.deps.hub.mcpServerOp(node.id, { kind: "logs", name, tail }).catch((error: unknown) => {
      throw asCoreError(error, what);
    });
    const { kind: _kind, ...logs } = expectKind(result, "logs");
    return { node: node.name, ...redactLogs(logs, this.redact(stored)) };
  }

  private async stored(nodeRef: string, name: string) {
    const node = await this.deps.fleet.get(nodeRef);
    const row = await this.deps.repo.get(node.id, name);
    if (!row) throw new CoreError("not_found", `no MCP server ${name} on ${node.name}`);
    return { node, stored: row.spec as unknown as StoredSpec };
  }

  /** Stored secrets, then the server's own plain settings and environment values. */
  private redact(stored: StoredSpec): (text: string) => string {
    const own =
      stored.kind === "managed"
        ? serverValueRedactor({
            ...stored.env,
            ...Object.fromEntries(
              Object.entries(stored.settings).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])),
            ),
          })
        : (text: string) => text;
    const secrets = this.deps.redactor;
    return (text) => own(secrets ? secrets.redact(text) : text);
  }

  /** Every server a Node should run, with secrets resolved (sent in the hello result and on sync). */
  async desiredFor(nodeId: string): Promise<McpServerSpec[]> {
    const rows = await this.deps.repo.list(nodeId);
    const specs: McpServerSpec[] = [];
    for (const row of rows) {
      try {
        specs.push(await this.resolve(row.name, row.spec as unknown as StoredSpec));
      } catch {
        // A secret deleted after the server was added: leave that server out rather than
        // sending the Node nothing at all; its status shows it missing.
      }
    }
    return specs;
  }

  private async pushToNode(nodeId: string): Promise<void> {
    if (!this.deps.hub.isOnline(nodeId)) return;
    const specs = await this.desiredFor(nodeId);
    // Pulling an image can take long; the answer comes back as status notifications, so the
    // request does not wait for the Node here.
    void this.deps.hub.syncMcp(nodeId, specs).catch(() => {});
  }

  private describe(nodeId: string, name: string, stored: StoredSpec, unsendable?: string) {
    const live = this.deps.hub.get(nodeId);
    const status = live?.mcpServers.find((s) => s.name === name);
    const tools = (live?.tools ?? [])
      .filter((t) => t.source === mcpSource(name))
      .map((t) => ({ name: t.name, description: t.description }));
    const base =
      stored.kind === "remote"
        ? { name, kind: "remote" as const, url: stored.url }
        : {
            name,
            kind: "managed" as const,
            preset: stored.preset ?? null,
            image: stored.image ?? null,
            mounts: stored.mounts,
            env: Object.keys(stored.env),
            network: this.networkOf(stored),
            settings: Object.fromEntries(
              Object.entries(stored.settings).map(([k, v]) => [
                k,
                typeof v === "string" ? "(set)" : { secret: v.secret },
              ]),
            ),
          };
    if (unsendable !== undefined) {
      return {
        ...base,
        state: "failed" as const,
        error: `not sent to the Node: ${unsendable}`,
        restarts: status?.restarts ?? 0,
        tools,
      };
    }
    // An error quotes the server's stderr, which may print a setting: redacted like its logs.
    const redact = this.redact(stored);
    return {
      ...base,
      state: status?.state ?? (live ? "starting" : "offline"),
      error: status?.error === undefined ? null : redact(status.error),
      restarts: status?.restarts ?? 0,
      lastCrash: status?.lastCrash ? { ...status.lastCrash, reason: redact(status.lastCrash.reason) } : null,
      // What its egress proxy let through and refused (issue 17: refusals visible in the UI).
      egress: status?.egress ?? null,
      // Tools the server offers that the model is not offered, and why (task-required ones).
      skippedTools: status?.skippedTools ?? [],
      tools,
    };
  }

  /** The network the server gets: the request's own, else its preset's, else none. */
  private networkOf(stored: Extract<StoredSpec, { kind: "managed" }>): McpNetwork {
    if (stored.network !== undefined) return McpNetworkSchema.parse(stored.network);
    return (stored.preset ? this.deps.presets.network(stored.preset) : undefined) ?? "none";
  }

  private toStored(body: McpServerRequest): StoredSpec {
    if ("url" in body) return { kind: "remote", url: body.url };
    // A raw image has no template: none of its args or env values may read as options.
    const optionLike = body.preset ? [] : optionLikeProblems({ args: body.args, env: body.env });
    if (optionLike.length > 0) throw new CoreError("validation_failed", `refused: ${optionLike.join("; ")}`);
    return {
      kind: "managed",
      preset: body.preset,
      image: body.image,
      mounts: body.mounts.map((m) => ({ source: m.source, target: m.target, readOnly: m.readOnly ?? true })),
      env: body.env,
      settings: body.settings,
      args: body.args,
      network: body.network,
    };
  }

  private async resolve(name: string, stored: StoredSpec): Promise<McpServerSpec> {
    if (stored.kind === "remote") return { kind: "remote", name, url: stored.url };
    const problems = checkMounts(stored.mounts);
    if (problems.length) throw new CoreError("validation_failed", `mounts refused: ${problems.join("; ")}`);
    const settings: Record<string, string> = {};
    for (const [key, value] of Object.entries(stored.settings)) {
      if (typeof value === "string") settings[key] = value;
      else {
        const secret = await this.deps.secrets.getValue(value.secret);
        if (secret === undefined)
          throw new CoreError("validation_failed", `setting ${key}: no secret named ${value.secret}`);
        settings[key] = secret;
      }
    }
    if (stored.preset) {
      try {
        return this.deps.presets.resolve(stored.preset, {
          name,
          mounts: stored.mounts,
          env: stored.env,
          args: stored.args,
          settings,
          network: stored.network === undefined ? undefined : McpNetworkSchema.parse(stored.network),
        });
      } catch (error) {
        if (error instanceof CoreError) throw error;
        throw new CoreError("validation_failed", error instanceof Error ? error.message : String(error));
      }
    }
    const parsed = McpServerSpecSchema.safeParse({
      kind: "managed",
      name,
      image: stored.image,
      args: stored.args,
      env: { ...stored.env, ...settings },
      mounts: stored.mounts,
      network: stored.network ?? "none",
    });
    if (!parsed.success) throw new CoreError("validation_failed", parsed.error.message);
    return parsed.data;
  }

  /** Pass-through servers are for MCP servers on the Node's own host: loopback only. */
  private checkRemoteUrl(url: string, _nodeId: string): void {
    let host: string;
    try {
      host = new URL(url).hostname.replace(/^\[|\]$/g, "");
    } catch {
      throw new CoreError("validation_failed", `not a URL: ${url}`);
    }
    const loopback = host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
    if (!loopback) {
      throw new CoreError(
        "validation_failed",
        `pass-through MCP URLs must be loopback (127.0.0.1, ::1, localhost) on the Node's host; ${host} is not`,
      );
    }
  }
}
