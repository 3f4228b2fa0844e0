import type { ToolDescriptor } from "@fabricore/protocol";

/* Nodes as the store keeps them, and the MCP servers each should run.
 * Imported through types.ts, which re-exports every one. */

export interface FleetNode {
  id: string;
  name: string;
  labels: Record<string, string>;
  createdAt: string;
  lastSeenAt: string | null;
  version: string | null;
  hostname: string | null;
  os: string | null;
  arch: string | null;
  /** As last announced by the Node (hello or tools-changed). */
  tools: ToolDescriptor[];
  /** The Node's Ed25519 public key (base64url); null until it enrolled. */
  publicKey: string | null;
  keyRegisteredAt: string | null;
  /** When the current enrollment token was spent; null: it can still register a key. */
  tokenUsedAt: string | null;
}
/** `Node` clashes with the DOM/Node.js global in editors; both names are exported. */
export type { FleetNode as Node };

export interface NewNode {
  name: string;
  labels?: Record<string, string>;
  /** `hashToken(enrollmentToken)`. */
  tokenHash: string;
}

export interface NodeHello {
  version: string;
  hostname: string;
  os: string;
  arch: string;
  tools: ToolDescriptor[];
  at: string;
}

export type McpServerSpec = Record<string, unknown>;

export interface McpServer {
  nodeId: string;
  name: string;
  spec: McpServerSpec;
  createdAt: string;
}
