import {
  ChallengeResponse,
  EnrollResponse,
  NodeUpdateKeyResponse,
  ProviderKind,
  ToolDescriptor,
} from "@fabricore/protocol";
import { z } from "zod";
import { RunStatus } from "./schemas.ts";

/**
 * What the API answers, as zod (issue 23): the OpenAPI document is generated from these and the
 * request schemas in schemas.ts, and the test hook (testing/openapi-responses.ts) checks every
 * live answer of the API tests against the document, so neither can drift from the code.
 *
 * Resources are loose objects: the fields named here are promised (CONTRACT and docs/API.md);
 * the Core may add more (the contract lets it add, never drop), which clients must tolerate.
 * Named schemas become `components.schemas` in the document.
 */

const named = <T extends z.ZodType>(schema: T, id: string): T => {
  if (!z.globalRegistry.has(schema)) z.globalRegistry.add(schema, { id });
  return schema;
};

const isoTime = z.string().describe("ISO-8601 timestamp");
const Role = z.enum(["admin", "operator", "viewer"]);

export const ErrorBody = named(
  z.object({
    error: z.object({
      code: z.string().describe("machine-readable, e.g. validation_failed, not_found, unauthorized"),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string().optional().describe("the answer's X-Request-Id"),
    }),
  }),
  "Error",
);

export const Ok = named(z.object({ ok: z.literal(true) }), "Ok");

export const LoginAnswer = z.object({
  token: z.string(),
  expiresAt: isoTime,
  user: z.object({ id: z.string(), username: z.string(), role: Role }),
});
export const Me = z.object({ id: z.string(), username: z.string(), role: Role });
export const CreatedToken = z.looseObject({ id: z.string(), name: z.string(), token: z.string() });
export const TokenInfo = z.looseObject({
  id: z.string(),
  name: z.string(),
  createdAt: isoTime,
  lastUsedAt: isoTime.nullable(),
});

export const NodeView = named(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    status: z.enum(["online", "offline"]),
    lastSeenAt: isoTime.nullable(),
    version: z.string().nullable(),
    updateAvailable: z
      .boolean()
      .describe("the Node runs another version than the one this Core serves at /api/nodes/binary/:platform"),
    servedVersion: z
      .string()
      .nullable()
      .optional()
      .describe("the Node version this Core serves (what --auto-update moves to); null when it serves none"),
    lastUpdate: z
      .looseObject({
        outcome: z.enum(["updated", "refused", "rolled_back", "failed"]),
        from: z.string(),
        to: z.string(),
        code: z.string().nullable(),
        reason: z.string().nullable(),
        at: z.string(),
        receivedAt: isoTime,
      })
      .nullable()
      .optional()
      .describe("the last update outcome the Node reported (fabricore/node/update-result); null: none yet"),
    tools: z.array(ToolDescriptor),
  }),
  "Node",
);
export const EnrolledNode = z.looseObject({ id: z.string(), name: z.string(), token: z.string() });

export const Provider = named(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    kind: ProviderKind,
    baseUrl: z.string().nullable(),
    hasApiKey: z.boolean(),
    options: z.record(z.string(), z.unknown()),
    /** Custom headers by name; values are sealed and never returned (issue 21.1). */
    headers: z.array(z.object({ name: z.string(), hasValue: z.boolean() })),
    createdAt: isoTime,
  }),
  "Provider",
);
export const Model = z.looseObject({ id: z.string(), loaded: z.boolean().optional() });
export const ProviderTest = z.union([
  z.object({
    ok: z.literal(true),
    models: z.number().int(),
    /** The first 20 model ids, so a form can say what it found. */
    modelIds: z.array(z.string()),
    latencyMs: z.number(),
  }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export const SecretInfo = z.object({
  name: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
  /** Present (true) when the stored value does not decrypt (issue 21.3): set it again. */
  unreadable: z.literal(true).optional(),
});
export const UnreadableSecret = z.object({
  kind: z.enum(["secret", "provider_api_key", "provider_header", "webhook_secret", "channel_secret"]),
  id: z.string(),
  name: z.string(),
  code: z.string(),
  detectedAt: isoTime,
  message: z.string(),
});

const ModelRef = z.object({ provider: z.string(), model: z.string() });
export const Job = named(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    prompt: z.string(),
    model: ModelRef,
    fallbacks: z.array(ModelRef),
    nodes: z.array(z.string()),
    tools: z.array(z.string()),
    schedule: z.looseObject({ cron: z.string(), timezone: z.string() }).nullable(),
    webhook: z.looseObject({ slug: z.string(), hasSecret: z.boolean() }).nullable(),
    maxSteps: z.number().int(),
    enabled: z.boolean(),
    offlineNodes: z
      .enum(["fail", "wait"])
      .optional()
      .describe("every target Node offline when a run starts: fail at once (nodes_offline) or wait for one"),
    waitForNodesSeconds: z.number().int().optional().describe('with "wait": how long before the run fails'),
    createdAt: isoTime,
    updatedAt: isoTime,
  }),
  "Job",
);
export const RunStarted = z.object({ runId: z.string() });
export const CronPreview = z.object({ description: z.string(), nextRuns: z.array(isoTime) });

const RunTrigger = z.string().describe('"manual", "cron", "webhook", "chain" (more may come)');
export const Run = named(
  z.looseObject({
    id: z.string(),
    jobId: z.string(),
    trigger: RunTrigger,
    status: RunStatus,
    output: z.string().nullable(),
    error: z.string().nullable(),
    errorCode: z
      .string()
      .nullable()
      .optional()
      .describe(
        'a failed run\'s stable reason: "nodes_offline" (every target Node offline), "no_targets"; null otherwise',
      ),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    waiting: z
      .object({ nodeIds: z.array(z.string()), nodes: z.array(z.string()), since: isoTime, until: isoTime })
      .nullable()
      .optional()
      .describe('a queued run waiting for its offline Nodes (the job\'s offlineNodes "wait"): which, since, until'),
    models: z
      .array(z.string())
      .optional()
      .describe('in lists: the models the run\'s model turns used, "provider / model", each once'),
    nodes: z.array(z.string()).optional().describe("in lists: the Nodes the run's tool calls ran on, each once"),
  }),
  "Run",
);
export const RunStep = z.looseObject({ seq: z.number().int(), at: isoTime, type: z.enum(["llm", "tool"]) });
export const RunView = named(Run.extend({ steps: z.array(RunStep) }), "RunWithSteps");

export const McpPreset = z.looseObject({ id: z.string(), name: z.string(), description: z.string() });
export const McpServer = named(z.looseObject({ name: z.string(), kind: z.enum(["remote", "managed"]) }), "McpServer");
/** GET /api/nodes/:id/mcp/:name/logs (issue 22.5): protocol's McpLogsResult, redacted, plus the Node. */
export const McpServerLogs = named(
  z.looseObject({
    node: z.string(),
    name: z.string(),
    source: z
      .enum(["container", "node"])
      .describe("container: Docker's log of its container; node: what the Node kept"),
    containerId: z.string().optional(),
    lines: z.array(
      z.object({
        at: z.string().optional(),
        stream: z.enum(["stdout", "stderr", "node"]),
        text: z.string(),
      }),
    ),
    truncated: z.boolean(),
  }),
  "McpServerLogs",
);
export const McpApproval = z.looseObject({ id: z.string() });
export const McpCall = z.looseObject({
  id: z.number().int().describe("the audit entry's id"),
  at: isoTime,
  user: z.string(),
  token: z.string().nullable(),
  target: z.string().nullable(),
  outcome: z.string(),
});

export const Channel = named(
  z.looseObject({
    id: z.string(),
    name: z.string(),
    kind: z.string().describe("webhook, slack, discord, ntfy, email"),
    config: z.record(z.string(), z.unknown()).describe("what is not secret"),
    secrets: z.array(z.string()).describe("names of the secret config fields that are set"),
    createdAt: isoTime,
  }),
  "Channel",
);
export const ChannelTest = z.looseObject({
  channel: z.string(),
  ok: z.boolean(),
  retry: z.boolean(),
  status: z.number().int().optional(),
  response: z.string(),
  error: z.string().optional(),
});

export const Health = z.object({
  status: z.literal("ok"),
  version: z.string(),
  uptimeSeconds: z.number(),
  nodesOnline: z.number().int(),
  runsActive: z.number().int(),
});
export const Overview = z.looseObject({
  nodes: z.object({ online: z.number().int(), total: z.number().int() }),
  runsLast24h: z.record(z.string(), z.number()),
  nextFires: z.array(z.object({ jobId: z.string(), name: z.string(), at: isoTime })),
});
export const AuditEntry = z.looseObject({
  id: z.number().int(),
  at: isoTime,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  outcome: z.enum(["ok", "failed", "denied"]),
  detail: z.record(z.string(), z.unknown()),
  targetName: z.string().nullable().describe("The target's current name; null when it has none or is gone"),
  links: z
    .array(
      z.object({
        role: z.enum(["actor", "target", "run", "job", "node", "token"]),
        kind: z.enum(["job", "run", "node", "user", "token", "provider", "channel", "mcp_server", "secret"]),
        id: z.string(),
        name: z.string(),
      }),
    )
    .describe("What the entry names that still exists, by its current name (a run's name is its job's)"),
});
export const UserInfo = z.looseObject({ id: z.string(), username: z.string(), role: Role });
export const WebhookAnswer = z.union([
  z.object({ ok: z.literal(true), ping: z.literal(true) }),
  z.object({ runId: z.string().nullable(), duplicate: z.literal(true) }),
]);
export const RotatedNode = z.object({ id: z.string(), name: z.string(), token: z.string() });
export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({}),
  paths: z.looseObject({}),
});
export { ChallengeResponse, EnrollResponse, NodeUpdateKeyResponse };

/** GET /api/runs/stats: runs per UTC day, oldest first, every day of the window present. */
export const RunStats = named(
  z.object({
    days: z.array(
      z.object({
        day: z.string().describe("YYYY-MM-DD (UTC)"),
        total: z.number().int(),
        succeeded: z.number().int(),
        failed: z.number().int(),
        cancelled: z.number().int(),
        other: z.number().int().describe("queued, running, waiting for approval or skipped"),
        avgDurationMs: z.number().nullable().describe("mean duration of the day's finished runs"),
        promptTokens: z.number().int(),
        completionTokens: z.number().int(),
      }),
    ),
  }),
  "RunStats",
);

/** GET /api/nodes/:id/stats/history: means per bucket, oldest first (no point: no heartbeat). */
export const NodeStatsHistory = named(
  z.object({
    bucketSeconds: z.number().int(),
    points: z.array(
      z.object({
        at: z.string().describe("ISO start of the bucket"),
        cpuPercent: z.number().nullable(),
        memoryPercent: z.number().nullable(),
        diskPercent: z.number().nullable().describe("the fullest disk"),
        load1: z.number().nullable(),
        samples: z.number().int().describe("heartbeats in the bucket"),
      }),
    ),
  }),
  "NodeStatsHistory",
);
