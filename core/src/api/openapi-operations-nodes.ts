import { z } from "zod";
import { list, type Operation, text } from "./openapi-operation.ts";
import * as R from "./responses.ts";
import { NodeRolloutList, NodeRolloutView } from "./rollout-responses.ts";

/** Nodes: the fleet, enrollment and identity, binaries and install script, labels, MCP servers on a Node, stats, rollouts. */
export const NODE_OPERATIONS: Record<string, Operation> = {
  "POST /api/nodes": {
    operationId: "createNode",
    summary: "Enroll a Node: its one-time enrollment token (fcn_…)",
    tag: "nodes",
    responses: { 201: R.EnrolledNode },
    errors: [409],
  },
  "GET /api/nodes": {
    operationId: "listNodes",
    summary: "The fleet (optionally by label selector)",
    tag: "nodes",
    responses: { 200: list(R.NodeView) },
  },
  "GET /api/nodes/:id": {
    operationId: "getNode",
    summary: "One Node with live stats",
    tag: "nodes",
    responses: { 200: R.NodeView },
  },
  "GET /api/nodes/:id/stats/history": {
    operationId: "getNodeStatsHistory",
    summary: "A Node's CPU, memory, disk and load per 5-minute bucket over the last hours (at most 24)",
    tag: "nodes",
    responses: { 200: R.NodeStatsHistory },
  },
  "PATCH /api/nodes/:id": {
    operationId: "updateNode",
    summary: "Rename a Node or replace its labels (the next run sees them; no restart of the Node)",
    tag: "nodes",
    responses: { 200: R.NodeView },
    errors: [409],
  },
  "DELETE /api/nodes/:id": {
    operationId: "deleteNode",
    summary: "Revoke a Node and close its connection",
    tag: "nodes",
    responses: { 200: R.Ok },
  },
  "POST /api/nodes/enroll": {
    operationId: "enrollNodeKey",
    summary: "A Node registers its public key with its enrollment token",
    tag: "nodes",
    responses: { 200: R.EnrollResponse },
    errors: [401],
  },
  "POST /api/nodes/challenge": {
    operationId: "nodeChallenge",
    summary: "A nonce for a Node's signed connection",
    tag: "nodes",
    responses: { 200: R.ChallengeResponse },
  },
  "GET /api/nodes/binary/:platform": {
    operationId: "getNodeBinary",
    summary: "The Node executable for a platform (linux-x64, linux-arm64)",
    description:
      "Public. X-FabriCore-SHA256 is the SHA-256 of the executable's bytes; ETag is that digest. " +
      "Range requests (206, 416), If-None-Match (304 Not Modified), and gzip (Content-Encoding) when accepted and ready. " +
      "X-FabriCore-Node-Version is the version served; X-FabriCore-Update-Signature the release key's Ed25519 signature " +
      "(base64url) of `fabricore-node-update\\n<platform>\\n<version>\\n<sha256>\\n`, which a Node with --auto-update checks.",
    tag: "nodes",
    responses: {
      200: { contentType: "application/octet-stream", schema: z.string(), description: "The executable" },
      206: { contentType: "application/octet-stream", schema: z.string(), description: "The requested byte range" },
    },
    errors: [416],
  },
  "POST /api/nodes/update": {
    operationId: "startNodeRollout",
    summary: "Update Nodes to the served version, batchSize at a time (a staged rollout)",
    description:
      "Exactly one of nodeIds and selector. Only the running batch is offered the version; the next starts when " +
      "each Node of it is back on the new version or ended refused / rolled back / failed / timed out. More than " +
      "maxFailures failures in a batch pause the rollout with the reason. One rollout is active at a time (409).",
    tag: "nodes",
    responses: { 201: NodeRolloutView },
    errors: [404, 409],
  },
  "GET /api/nodes/rollouts": {
    operationId: "listNodeRollouts",
    summary: "Staged rollouts, newest first, with counts per Node state",
    tag: "nodes",
    responses: { 200: NodeRolloutList },
  },
  "GET /api/nodes/rollouts/:id": {
    operationId: "getNodeRollout",
    summary: "One rollout: its batches and each Node's state with the reason",
    tag: "nodes",
    responses: { 200: NodeRolloutView },
  },
  "POST /api/nodes/rollouts/:id/cancel": {
    operationId: "cancelNodeRollout",
    summary: "Cancel a running or paused rollout (Nodes not yet done are marked cancelled)",
    tag: "nodes",
    responses: { 200: NodeRolloutView },
    errors: [409],
  },
  "POST /api/nodes/rollouts/:id/resume": {
    operationId: "resumeNodeRollout",
    summary: "Go on with a paused rollout: the next batch starts",
    tag: "nodes",
    responses: { 200: NodeRolloutView },
    errors: [409],
  },
  "GET /api/nodes/update-key": {
    operationId: "getNodeUpdateKey",
    summary: "The public key Node builds are signed with (a Node pins it at enrollment)",
    tag: "nodes",
    responses: { 200: R.NodeUpdateKeyResponse },
  },
  "POST /api/nodes/:id/rotate": {
    operationId: "rotateNodeToken",
    summary: "A new enrollment token for a Node",
    tag: "nodes",
    responses: { 201: R.RotatedNode },
  },
  "POST /api/nodes/:id/mcp": {
    operationId: "addNodeMcpServer",
    summary: "Run a managed MCP server on a Node, or connect a remote one",
    tag: "nodes",
    responses: { 201: R.McpServer },
    errors: [409, 503],
  },
  "GET /api/nodes/:id/mcp": {
    operationId: "listNodeMcpServers",
    summary: "A Node's MCP servers",
    tag: "nodes",
    responses: { 200: list(R.McpServer) },
  },
  "POST /api/nodes/:id/mcp/:name/restart": {
    operationId: "restartNodeMcpServer",
    summary: "Stop a Node's MCP server and start it again (Retry for a failed one); the Node's policy decides",
    tag: "nodes",
    responses: { 200: R.McpServer },
    errors: [409, 503],
  },
  "GET /api/nodes/:id/mcp/:name/logs": {
    operationId: "getNodeMcpServerLogs",
    summary: "The last lines a Node's MCP server wrote (stderr, and the Node's own lines), secrets redacted",
    tag: "nodes",
    responses: { 200: R.McpServerLogs },
    errors: [409, 503],
  },
  "DELETE /api/nodes/:id/mcp/:name": {
    operationId: "removeNodeMcpServer",
    summary: "Stop and remove a Node's MCP server",
    tag: "nodes",
    responses: { 200: R.Ok },
  },

  "GET /install.sh": {
    operationId: "getInstallScript",
    summary: "The Node installer: curl -fsSL <core>/install.sh | sudo sh -s -- --token fcn_…",
    description:
      "Public. A POSIX sh script carrying this Core's URL and each platform's Node SHA-256; it downloads " +
      "the Node, refuses a digest mismatch, installs /usr/local/bin/fabricore-node and a sandboxed systemd unit.",
    tag: "nodes",
    responses: { 200: text("POSIX sh") },
  },
};
