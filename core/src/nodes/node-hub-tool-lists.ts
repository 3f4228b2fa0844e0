import { type Logger, ProtocolError, type ToolDescriptor } from "@fabricore/protocol";
import type { Connection } from "./node-hub-connection.ts";
import type { SharedToolLists } from "./shared-tool-lists.ts";

export interface NodeToolListsOptions {
  /** Largest list a Node may announce, as JSON bytes (NodeHubOptions.maxToolListBytes). */
  maxBytes: number;
  /** tools/list_changed applied at most once per this many ms (NodeHubOptions.toolsChangedIntervalMs). */
  intervalMs: number;
  now: () => number;
  logger: Logger;
  /** A connection's list changed (not at hello). */
  onApplied(conn: Connection, tools: ToolDescriptor[]): void;
}

/**
 * The tool list of each connection (issue 21.7): the hello's list is refused over the cap, later
 * lists over it are ignored, tools/list_changed is throttled per Node, and every list is the fleet's
 * shared copy with one reference held per connection.
 */
export class NodeToolLists {
  private readonly shared: SharedToolLists;
  private readonly options: NodeToolListsOptions;

  constructor(shared: SharedToolLists, options: NodeToolListsOptions) {
    this.shared = shared;
    this.options = options;
  }

  /** Takes the hello's list for `conn` and returns the shared copy to keep in its place; throws
   * `invalid_params` (naming the setting) when it is over the cap. */
  adoptHello(conn: Connection, announced: ToolDescriptor[]): ToolDescriptor[] {
    const json = JSON.stringify(announced);
    const limit = this.options.maxBytes;
    if (Buffer.byteLength(json) > limit) {
      throw new ProtocolError(
        "invalid_params",
        `the Node's tool list is ${Buffer.byteLength(json)} bytes of JSON; this Core accepts at most ${limit} (FABRICORE_NODE_TOOLS_MAX_BYTES)`,
      );
    }
    const shared = this.shared.acquire(announced, json);
    conn.toolsKey = shared.key;
    return shared.tools;
  }

  /** Applies a tools/list_changed now, or (within the interval of the last one) the latest at the
   * end of the interval: a Node that sends a thousand costs one update a second. */
  changed(conn: Connection, tools: ToolDescriptor[]): void {
    const wait = conn.toolsAppliedAt + this.options.intervalMs - this.options.now();
    if (wait <= 0 && !conn.pendingTimer) {
      this.apply(conn, tools);
      return;
    }
    conn.pendingTools = tools;
    if (conn.pendingTimer) return;
    conn.pendingTimer = setTimeout(
      () => {
        conn.pendingTimer = undefined;
        const latest = conn.pendingTools;
        conn.pendingTools = undefined;
        if (latest && conn.online && !conn.closed) this.apply(conn, latest);
      },
      Math.max(0, wait),
    );
    conn.pendingTimer.unref?.();
  }

  /** The connection closed: drop its waiting list and its reference. */
  release(conn: Connection): void {
    clearTimeout(conn.pendingTimer);
    conn.pendingTools = undefined;
    this.shared.release(conn.toolsKey);
    conn.toolsKey = undefined;
  }

  private apply(conn: Connection, tools: ToolDescriptor[]): void {
    conn.toolsAppliedAt = this.options.now();
    const json = JSON.stringify(tools);
    const limit = this.options.maxBytes;
    if (Buffer.byteLength(json) > limit) {
      this.options.logger.warn(
        { nodeId: conn.nodeId, bytes: Buffer.byteLength(json), limit },
        "ignored a tool list over FABRICORE_NODE_TOOLS_MAX_BYTES; the Node keeps its previous tools",
      );
      return;
    }
    const shared = this.shared.acquire(tools, json);
    this.shared.release(conn.toolsKey);
    conn.toolsKey = shared.key;
    conn.tools = shared.tools;
    if (conn.hello) conn.hello.tools = conn.tools;
    this.options.onApplied(conn, shared.tools);
  }
}
