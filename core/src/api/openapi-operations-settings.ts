import { z } from "zod";
import { list, type Operation } from "./openapi-operation.ts";
import * as R from "./responses.ts";

/** What jobs are built from: model providers, secrets, notification channels and the MCP catalog. */
export const SETTINGS_OPERATIONS: Record<string, Operation> = {
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
};
