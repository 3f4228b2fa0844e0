import type { NodeMcpPolicy, ToolDescriptor } from "@fabricore/protocol";
import type { NodesRepo, NodeUpdateResult, NodeUpdateResultsRepo } from "../database/index.ts";
import type { FleetNode } from "../database/types.ts";
import { CoreError } from "../errors.ts";
import { matchesSelector, parseSelector } from "../nodes/label-selector.ts";
import type { NodeAccess } from "../nodes/node-access.ts";
import { type ServedVersion, servedVersionNow } from "../nodes/node-build-watch.ts";
import { generateToken, hashToken } from "../secrets/index.ts";

export interface NodeView {
  id: string;
  name: string;
  labels: Record<string, string>;
  status: "online" | "offline";
  lastSeenAt: string | null;
  version: string | null;
  /** The Node runs another version than the one this Core serves (GET /api/nodes/binary/:platform). */
  updateAvailable: boolean;
  /** The Node version this Core serves; null when it serves none. */
  servedVersion: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  createdAt: string;
  tools: ToolDescriptor[];
  /** As the Node announced them; `mcpPolicy` (what it lets MCP servers do) from Nodes that send it. */
  capabilities?: { exec: boolean; docker: boolean; readRoots: string[]; mcpPolicy?: NodeMcpPolicy | undefined };
  stats?: Record<string, unknown>;
  mcpServers?: Array<Record<string, unknown>>;
  /** The last update outcome the Node reported (updated, refused, rolled back, failed); null: none. */
  lastUpdate?: NodeUpdateResult | null;
}

/** Enrollment, revocation and the fleet as the API shows it: stored facts merged with the live
 * state the hub holds for connected Nodes. */
export class Fleet {
  private readonly nodes: NodesRepo;
  private readonly hub: NodeAccess;
  private readonly served: ServedVersion;
  private readonly updateResults: NodeUpdateResultsRepo | undefined;

  /** `servedNodeVersion`: the Node version this Core serves (or a function reading it: it follows a
   * rebuild); unset: no Node is ever out of date.
   * `updateResults`: each view carries the Node's last reported update outcome (`lastUpdate`). */
  constructor(deps: {
    nodes: NodesRepo;
    hub: NodeAccess;
    servedNodeVersion?: ServedVersion;
    updateResults?: NodeUpdateResultsRepo;
  }) {
    this.nodes = deps.nodes;
    this.hub = deps.hub;
    this.served = deps.servedNodeVersion;
    this.updateResults = deps.updateResults;
  }

  /** The token (fcn_ + 256 random bits) is returned once; only its SHA-256 is stored. It is spent
   * when the Node registers its key (core/src/nodes/node-identity-service.ts), which is how Nodes authenticate. */
  async enroll(name: string, labels: Record<string, string> = {}) {
    if (await this.nodes.getByName(name)) throw new CoreError("conflict", `a node named ${name} exists`);
    const token = generateToken("fcn_");
    const node = await this.nodes.create({ name, labels, tokenHash: hashToken(token) });
    return { ...this.view(node), token };
  }

  async get(idOrName: string): Promise<FleetNode> {
    const node = await this.nodes.resolve(idOrName);
    if (!node) throw new CoreError("not_found", `node ${idOrName} not found`);
    return node;
  }

  /** Every Node, or those a label selector matches (the selector is already validated). */
  async list(selector?: string): Promise<NodeView[]> {
    const all = await this.nodes.list();
    const parsed = selector === undefined ? undefined : parseSelector(selector);
    const views = (parsed ? all.filter((n) => matchesSelector(parsed, n.labels)) : all).map((n) => this.view(n));
    return this.withLastUpdate(views, parsed === undefined);
  }

  /** One Node with its live detail (stats, MCP servers) and last update outcome. */
  async show(idOrName: string): Promise<NodeView> {
    const [view] = await this.withLastUpdate([this.view(await this.get(idOrName), true)], false);
    return view as NodeView;
  }

  private async withLastUpdate(views: NodeView[], everyNode: boolean): Promise<NodeView[]> {
    if (!this.updateResults) return views;
    const results = await this.updateResults.byNode(everyNode ? undefined : views.map((v) => v.id));
    for (const view of views) view.lastUpdate = results.get(view.id) ?? null;
    return views;
  }

  /**
   * Rename or relabel after enrollment (issue 22.5). Runs resolve selectors and Node names from the
   * store when they start, so the next run sees the change; the live connection keeps its identity
   * (the Node needs no restart), and the name in hub-side views follows when it reconnects.
   */
  async update(idOrName: string, patch: { name?: string | undefined; labels?: Record<string, string> | undefined }) {
    const node = await this.get(idOrName);
    if (patch.name !== undefined && patch.name !== node.name && (await this.nodes.getByName(patch.name)))
      throw new CoreError("conflict", `a node named ${patch.name} exists`);
    const updated = await this.nodes.update(node.id, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.labels !== undefined ? { labels: patch.labels } : {}),
    });
    if (!updated) throw new CoreError("not_found", `node ${idOrName} not found`);
    this.hub.rename?.(node.id, updated.name);
    return { before: node, after: this.view(updated, true) };
  }

  /** Revocation: the token stops working and the live socket is closed at once. */
  async revoke(idOrName: string): Promise<void> {
    const node = await this.get(idOrName);
    await this.nodes.delete(node.id);
    await this.hub.disconnect(node.id, undefined, "node revoked");
  }

  view(node: FleetNode, detail = false): NodeView {
    const live = this.hub.get(node.id);
    const served = servedVersionNow(this.served);
    const base: NodeView = {
      id: node.id,
      name: node.name,
      labels: node.labels,
      status: live ? "online" : "offline",
      lastSeenAt: live ? new Date(live.lastSeenAt).toISOString() : node.lastSeenAt,
      version: live?.hello.nodeVersion ?? node.version,
      updateAvailable: false,
      servedVersion: served ?? null,
      hostname: live?.hello.hostname ?? node.hostname,
      os: live?.hello.os ?? node.os,
      arch: live?.hello.arch ?? node.arch,
      createdAt: node.createdAt,
      tools: live?.tools ?? node.tools,
    };
    // Only a version the Node has reported can be out of date (a never-connected Node has none).
    base.updateAvailable = served !== undefined && base.version !== null && base.version !== served;
    if (live) base.capabilities = live.hello.capabilities;
    if (detail && live) {
      if (live.stats) base.stats = live.stats as Record<string, unknown>;
      base.mcpServers = live.mcpServers;
    }
    return base;
  }
}
