import type { NodeHub } from "./node-hub.ts";

/**
 * What the run executor and the services need from "the Nodes": the live view of one Node, tool
 * calls, MCP sync and revocation. In one process the NodeHub itself is this; in cluster mode a
 * facade (core/src/cluster/cluster-hub.ts) answers for Nodes connected to any replica, with the
 * same ProtocolError codes and deadlines.
 */
export type NodeAccess = Pick<
  NodeHub,
  "get" | "isOnline" | "callTool" | "syncMcp" | "mcpServerOp" | "disconnect" | "onlineCount" | "onlineNodeIds"
> &
  Partial<Pick<NodeHub, "rename">>;
