import { z } from "zod";
import * as R from "./responses.ts";
import { NodeRolloutList, NodeRolloutView } from "./rollout-responses.ts";

/** One line per route of the API (`METHOD /url` as registered): what the OpenAPI document says
 * of it beyond its request schemas. openapi.test.ts fails for a registered route missing here. */
export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tag: "auth" | "nodes" | "providers" | "secrets" | "jobs" | "runs" | "channels" | "mcp" | "webhooks" | "admin" | "ops";
  /** Success answers: a JSON schema, null for no body, or another media type. */
  responses: Record<number, z.ZodType | null | { contentType: string; schema: z.ZodType; description?: string }>;
  /** Error statuses beyond those every route of its kind has (see errorStatuses). */
  errors?: number[];
  /** A public route in Fastify's eyes that checks a bearer token itself. */
  ownBearer?: boolean;
  /** Request headers to document (validated loosely: every other header passes). */
  headers?: z.ZodType;
}

const list = (item: z.ZodType) => z.array(item);
const text = (description: string) => ({ contentType: "text/plain", schema: z.string(), description });

const WebhookHeaders = z.looseObject({
  "x-hub-signature-256": z
    .string()
    .optional()
    .describe("GitHub: sha256=<hex HMAC-SHA256 of the raw body with the job's webhook secret>"),
  "x-github-event": z.string().optional().describe("GitHub's event name; `ping` is answered without a run"),
  "x-github-delivery": z.string().optional().describe("GitHub's delivery id; a redelivery starts no second run"),
  "webhook-id": z.string().optional().describe("Standard Webhooks: the message id (redelivery detection)"),
  "webhook-timestamp": z.string().optional().describe("Standard Webhooks: Unix seconds, within 5 minutes"),
  "webhook-signature": z
    .string()
    .optional()
    .describe("Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
});

export const OPERATIONS: Record<string, Operation> = {
  "POST /api/auth/login": {
    operationId: "login",
    summary: "Log in: a session token and the HttpOnly session cookie",
    tag: "auth",
    responses: { 200: R.LoginAnswer },
    errors: [401, 423, 429],
  },
  "POST /api/auth/logout": {
    operationId: "logout",
    summary: "End this session",
    tag: "auth",
    responses: { 200: R.Ok },
  },
  "POST /api/auth/password": {
    operationId: "changeOwnPassword",
    summary: "Change my own password (any role): every session and token of mine ends, this one is replaced",
    tag: "auth",
    responses: { 200: R.LoginAnswer },
    errors: [423],
  },
  "GET /api/auth/me": {
    operationId: "getMe",
    summary: "Who the credential belongs to",
    tag: "auth",
    responses: { 200: R.Me },
  },
  "POST /api/tokens": {
    operationId: "createToken",
    summary: "A long-lived API token (shown once)",
    tag: "auth",
    responses: { 201: R.CreatedToken },
  },
  "GET /api/tokens": {
    operationId: "listTokens",
    summary: "My API tokens",
    tag: "auth",
    responses: { 200: list(R.TokenInfo) },
  },
  "DELETE /api/tokens/:id": {
    operationId: "deleteToken",
    summary: "Revoke an API token",
    tag: "auth",
    responses: { 200: R.Ok },
  },

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

  "POST /api/providers": {
    operationId: "createProvider",
    summary: "Add an LLM provider",
    tag: "providers",
    responses: { 201: R.Provider },
    errors: [409],
  },
  "GET /api/providers": {
    operationId: "listProviders",
    summary: "LLM providers (never their keys)",
    tag: "providers",
    responses: { 200: list(R.Provider) },
  },
  "GET /api/providers/:id": {
    operationId: "getProvider",
    summary: "One provider",
    tag: "providers",
    responses: { 200: R.Provider },
  },
  "PATCH /api/providers/:id": {
    operationId: "updateProvider",
    summary: "Change a provider",
    tag: "providers",
    responses: { 200: R.Provider },
    errors: [409],
  },
  "DELETE /api/providers/:id": {
    operationId: "deleteProvider",
    summary: "Remove a provider",
    tag: "providers",
    responses: { 200: R.Ok },
  },
  "GET /api/providers/:id/models": {
    operationId: "listProviderModels",
    summary: "The provider's live model list",
    tag: "providers",
    responses: { 200: list(R.Model) },
    errors: [502, 503],
  },
  "POST /api/providers/:id/test": {
    operationId: "testProvider",
    summary: "Connection test (the answer says whether it worked)",
    tag: "providers",
    responses: { 200: R.ProviderTest },
    errors: [503],
  },
  "POST /api/providers/test": {
    operationId: "testProviderSettings",
    summary: "Connection test of settings not saved yet (with providerId: a stored provider as changed)",
    tag: "providers",
    responses: { 200: R.ProviderTest },
  },

  "POST /api/secrets": {
    operationId: "putSecret",
    summary: "Store or replace a secret",
    tag: "secrets",
    responses: { 201: R.SecretInfo },
  },
  "GET /api/secrets": {
    operationId: "listSecrets",
    summary: "Secret names and dates, never values",
    tag: "secrets",
    responses: { 200: list(R.SecretInfo) },
  },
  "GET /api/secrets/unreadable": {
    operationId: "listUnreadableSecrets",
    summary: "Stored secrets, provider keys, webhook and channel secrets that do not decrypt (names only)",
    tag: "secrets",
    responses: { 200: list(R.UnreadableSecret) },
  },
  "DELETE /api/secrets/:name": {
    operationId: "deleteSecret",
    summary: "Delete a secret",
    tag: "secrets",
    responses: { 200: R.Ok },
  },

  "POST /api/jobs": {
    operationId: "createJob",
    summary: "Create a job",
    tag: "jobs",
    responses: { 201: R.Job },
    errors: [409],
  },
  "GET /api/jobs": { operationId: "listJobs", summary: "Every job", tag: "jobs", responses: { 200: list(R.Job) } },
  "GET /api/jobs/:id": {
    operationId: "getJob",
    summary: "One job (by id or name)",
    tag: "jobs",
    responses: { 200: R.Job },
  },
  "PATCH /api/jobs/:id": {
    operationId: "updateJob",
    summary: "Change a job",
    tag: "jobs",
    responses: { 200: R.Job },
    errors: [409],
  },
  "DELETE /api/jobs/:id": { operationId: "deleteJob", summary: "Delete a job", tag: "jobs", responses: { 200: R.Ok } },
  "POST /api/jobs/:id/run": {
    operationId: "runJob",
    summary: "Start a run now (the body may be left out)",
    tag: "jobs",
    responses: { 202: R.RunStarted },
    errors: [409],
  },
  "POST /api/cron/preview": {
    operationId: "previewCron",
    summary: "A cron expression in words and its next five fire times",
    tag: "jobs",
    responses: { 200: R.CronPreview },
  },

  "GET /api/runs": {
    operationId: "listRuns",
    summary: "Runs, newest first",
    tag: "runs",
    responses: { 200: list(R.Run) },
  },
  "GET /api/runs/stats": {
    operationId: "getRunStats",
    summary: "Runs per UTC day (counts by outcome, mean duration, tokens) for the last N days",
    description: "Top-level runs only (a fan-out's children are part of their parent's run).",
    tag: "runs",
    responses: { 200: R.RunStats },
  },
  "GET /api/runs/:id": {
    operationId: "getRun",
    summary: "One run with its steps",
    tag: "runs",
    responses: { 200: R.RunView },
  },
  "POST /api/runs/:id/cancel": {
    operationId: "cancelRun",
    summary: "Stop a run",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "POST /api/runs/:id/approve": {
    operationId: "approveRun",
    summary: "Approve the tool call the run waits on",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "POST /api/runs/:id/deny": {
    operationId: "denyRun",
    summary: "Deny the tool call the run waits on",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "GET /api/runs/:id/events": {
    operationId: "streamRunEvents",
    summary: "Server-Sent Events of the run (step, delta, model, model_status, tool, status, done)",
    tag: "runs",
    responses: {
      200: {
        contentType: "text/event-stream",
        schema: z.string(),
        description: "`id:` of a step event is its seq; send Last-Event-ID to resume",
      },
    },
    // FABRICORE_SSE_STREAMS_PER_USER open streams per user (issue 21.10).
    errors: [429],
  },

  "POST /api/channels": {
    operationId: "createChannel",
    summary: "Add a notification channel (its secrets are never returned)",
    tag: "channels",
    responses: { 201: R.Channel },
    errors: [409],
  },
  "GET /api/channels": {
    operationId: "listChannels",
    summary: "Notification channels",
    tag: "channels",
    responses: { 200: z.array(R.Channel) },
  },
  "GET /api/channels/:id": {
    operationId: "getChannel",
    summary: "One channel",
    tag: "channels",
    responses: { 200: R.Channel },
  },
  "DELETE /api/channels/:id": {
    operationId: "deleteChannel",
    summary: "Delete a channel",
    tag: "channels",
    responses: { 200: R.Ok },
    errors: [409],
  },
  "POST /api/channels/:id/test": {
    operationId: "testChannel",
    summary: "Send a test message now (the answer says what the receiver said)",
    tag: "channels",
    responses: { 200: R.ChannelTest },
    errors: [503],
  },

  "GET /api/mcp/presets": {
    operationId: "listMcpPresets",
    summary: "The MCP server marketplace",
    tag: "mcp",
    responses: { 200: list(R.McpPreset) },
  },
  "GET /api/mcp/approvals": {
    operationId: "listMcpApprovals",
    summary: "Tool calls of MCP clients held for approval",
    tag: "mcp",
    responses: { 200: list(R.McpApproval) },
  },
  "POST /api/mcp/approvals/:id/approve": {
    operationId: "approveMcpCall",
    summary: "Let an MCP client's held call run",
    tag: "mcp",
    responses: { 200: R.McpApproval },
    errors: [409],
  },
  "POST /api/mcp/approvals/:id/deny": {
    operationId: "denyMcpCall",
    summary: "Refuse an MCP client's held call",
    tag: "mcp",
    responses: { 200: R.McpApproval },
    errors: [409],
  },
  "GET /api/mcp/calls": {
    operationId: "listMcpCalls",
    summary: "Tool calls made through /mcp",
    tag: "mcp",
    responses: { 200: list(R.McpCall) },
  },

  "POST /api/webhook/:slug": {
    operationId: "deliverWebhook",
    summary: "Start the job whose webhook has this slug",
    description:
      "Any body (JSON, or form-encoded with a `payload` field). With a webhook secret the raw body must be signed the GitHub way (X-Hub-Signature-256) or the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), else 401 and no run.",
    tag: "webhooks",
    responses: { 200: R.WebhookAnswer, 202: R.RunStarted },
    errors: [401, 409, 413, 429, 503],
    headers: WebhookHeaders,
  },

  "GET /api/users": {
    operationId: "listUsers",
    summary: "Users and roles",
    tag: "admin",
    responses: { 200: list(R.UserInfo) },
  },
  "POST /api/users": {
    operationId: "createUser",
    summary: "Add a user",
    tag: "admin",
    responses: { 201: R.UserInfo },
    errors: [409],
  },
  "PATCH /api/users/:id": {
    operationId: "updateUser",
    summary: "Change a role or password",
    tag: "admin",
    responses: { 200: R.UserInfo },
    errors: [409],
  },
  "DELETE /api/users/:id": {
    operationId: "deleteUser",
    summary: "Delete a user",
    tag: "admin",
    responses: { 200: R.Ok },
    errors: [409],
  },
  "GET /api/audit": {
    operationId: "listAudit",
    summary: "The audit log, newest first",
    tag: "admin",
    responses: { 200: list(R.AuditEntry) },
  },
  "GET /api/overview": {
    operationId: "getOverview",
    summary: "The dashboard's numbers",
    tag: "admin",
    responses: { 200: R.Overview },
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
  "GET /healthz": {
    operationId: "health",
    summary: "Liveness and a few numbers",
    tag: "ops",
    responses: { 200: R.Health },
  },
  "GET /metrics": {
    operationId: "metrics",
    summary: "Prometheus metrics",
    tag: "ops",
    responses: { 200: text("Prometheus text exposition format 0.0.4") },
  },
  "GET /api/openapi.json": {
    operationId: "openapi",
    summary: "This document",
    tag: "ops",
    responses: { 200: R.OpenApiDocument },
  },
};
