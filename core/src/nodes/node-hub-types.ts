import type {
  HeartbeatParams,
  HelloParams,
  Logger,
  McpServerSpec,
  McpServerStatus,
  NodeUpdateResultParams,
  SystemStats,
  ToolCallParams,
  ToolDescriptor,
  ToolProgressParams,
} from "@fabricore/protocol";
import type { ServedVersion } from "./node-build-watch.ts";

/* The NodeHub's public types: what its callers pass in and get back (node-hub.ts re-exports them). */

/** The Node a connection proved to be (what `authenticate` maps its credentials to). */
export interface AuthenticatedNode {
  nodeId: string;
  name: string;
}

/**
 * What a connecting Node presented at the upgrade. `signed` is the real handshake (an Ed25519
 * signature over a single-use nonce, see protocol/src/node-auth.ts); `bearer` is a plain
 * `Authorization: Bearer` token, which the Core's Fleet refuses (enrollment tokens are spent at
 * POST /api/nodes/enroll) but hub tests use to stay independent of the key handshake.
 */
export type NodeCredentials =
  | { kind: "signed"; nodeId: string; nonce: string; signature: string; origin: string }
  | { kind: "bearer"; token: string };

/** A refusal with the reason, logged by the hub and sent in the 401 body so the Node can say what to fix. */
export interface NodeAuthRefusal {
  refused: string;
}

export interface NodeHubOptions {
  /** Maps what the Node presented to its identity; null or a refusal rejects the connection with 401. */
  authenticate(credentials: NodeCredentials): Promise<AuthenticatedNode | NodeAuthRefusal | null>;
  /** Every MCP server the Node should run, with secrets resolved; sent in each HelloResult. */
  desiredMcpServers(nodeId: string): Promise<McpServerSpec[]>;
  onOnline?(nodeId: string, hello: HelloParams): void;
  onOffline?(nodeId: string, reason: string): void;
  onToolsChanged?(nodeId: string, tools: ToolDescriptor[]): void;
  onHeartbeat?(nodeId: string, params: HeartbeatParams): void;
  onMcpStatus?(nodeId: string, servers: McpServerStatus[]): void;
  /** The Node version this Core serves, told in each HelloResult (a Node with --auto-update follows it);
   * a function is read at each hello (the version follows a rebuild). */
  servedNodeVersion?: ServedVersion;
  /** The release public key, told in each HelloResult (a Node enrolled before it existed pins it). */
  updateKey?: string | undefined;
  /** Whether this Node's hello advertises servedNodeVersion (a staged rollout: services/node-rollout.ts);
   * unset: every Node's does. */
  offersNodeVersion?(nodeId: string): boolean;
  /** A Node's `fabricore/node/update-result`: what became of an update. */
  onUpdateResult?(nodeId: string, result: NodeUpdateResultParams): void;
  /** Sent to Nodes; the hub closes a Node silent for three of these. Default 10 s. */
  heartbeatIntervalMs?: number;
  /** Added to a call's deadlineMs before the Core gives up on it: the Node aborts at deadlineMs and
   * its answer needs time to arrive. Default 2 s. */
  deadlineGraceMs?: number;
  /** Timeout of `fabricore/mcp/sync` (pulling and starting containers takes a while). Default 120 s. */
  mcpSyncTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
  /** Largest tool list a Node may announce, as JSON bytes (issue 21.7). A hello over it is refused;
   * a tools/list_changed over it is ignored (the previous list stays). Default 4 MiB. */
  maxToolListBytes?: number;
  /** tools/list_changed from one Node is applied at most once per this many ms; the latest list in
   * between is applied at the end of the interval (issue 21.7: unthrottled, each one was a
   * database write). Default 1000. */
  toolsChangedIntervalMs?: number;
  /** Whether the peer at `address` is a proxy we were told about (FABRICORE_TRUST_PROXY): only then
   * are its X-Forwarded-Proto/-Host believed for the origin the Node signed. Default: nobody. */
  trustProxy?: (address: string) => boolean;
}

/** A connected Node that has said hello. */
export interface ConnectedNode {
  nodeId: string;
  name: string;
  hello: HelloParams;
  tools: ToolDescriptor[];
  mcpServers: McpServerStatus[];
  connectedAt: number;
  lastSeenAt: number;
  stats: Partial<SystemStats> | undefined;
}

export interface CallToolOptions {
  signal?: AbortSignal;
  onOutput?: (stream: "stdout" | "stderr", text: string) => void;
  /** The call's progress (an MCP tool's `notifications/progress`), a few a second at most. */
  onProgress?: (progress: Omit<ToolProgressParams, "callId">) => void;
}

/** `tools/call` params as the caller gives them (source and arguments have defaults). */
export type CallToolParams = Pick<ToolCallParams, "name" | "deadlineMs" | "callId"> &
  Partial<Pick<ToolCallParams, "source" | "arguments" | "runId" | "maxDeadlineMs">>;
