import { McpMount, McpNetwork, ProviderKind } from "@fabricore/protocol";
import { z } from "zod";
import { parseSelector, SelectorError } from "../nodes/label-selector.ts";

/** Request bodies and params of the HTTP API (CONTRACT "HTTP API"). Responses are plain objects
 * built by the routes from domain objects; these schemas are the boundary where input is checked. */

export const IdParams = z.object({ id: z.string().min(1).max(200) });
export const NameParams = z.object({ name: z.string().min(1).max(200) });

export const LoginBody = z.object({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) });

const labelKey = z.string().regex(/^[a-zA-Z0-9_./-]{1,63}$/, "label keys: letters, digits, _ . / -");
export const NodeBody = z.object({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "letters, digits, _ . - (start with a letter or digit)"),
  labels: z.record(labelKey, z.string().max(256)).optional(),
});

/** Rename and/or relabel a Node (labels are replaced whole). */
export const NodePatch = z
  .object({ name: NodeBody.shape.name.optional(), labels: NodeBody.shape.labels })
  .refine((v) => v.name !== undefined || v.labels !== undefined, "give a name, labels or both");

export const ProviderBody = z.object({
  name: z.string().min(1).max(100),
  kind: ProviderKind,
  // http(s) only, said in words a form can show at the field (issue 22.6).
  baseUrl: z
    .url({ protocol: /^https?$/, error: "an http:// or https:// address, like http://localhost:1234/v1" })
    .max(2048)
    .optional(),
  apiKey: z.string().min(1).max(4096).optional(),
  options: z
    .strictObject({
      /** false: turns that offer tools are not streamed (some LM Studio releases garble several
       * streamed tool calls in one turn). */
      streamToolTurns: z.boolean().optional(),
      timeoutMs: z.number().int().positive().max(3_600_000).optional(),
      /** LM Studio loads a model on first use; that first request may take minutes. */
      firstRequestTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
      maxRetries: z.number().int().min(0).max(10).optional(),
      maxTokens: z.number().int().positive().max(1_000_000).optional(),
      headers: z.record(z.string(), z.string().max(4096)).optional(),
      /** The model's context length when the server does not report it. */
      contextTokens: z.number().int().positive().optional(),
      /** Most model requests in flight at once to this provider; further ones wait in their run. */
      maxConcurrent: z.number().int().min(1).max(256).optional(),
    })
    .optional(),
});
export const ProviderPatchBody = ProviderBody.partial().extend({
  apiKey: z.string().min(1).max(4096).nullable().optional(),
});

/** A provider not saved yet (the form's Test before save); with `providerId`, the stored one as
 * the form would change it: its key and headers kept unless given. */
export const ProviderTestBody = ProviderBody.extend({
  name: ProviderBody.shape.name.optional(),
  providerId: z.string().min(1).max(100).optional(),
});

export const SecretBody = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/, "letters, digits, _ . - (start with a letter or _)"),
  value: z.string().min(1).max(65536),
});

export const ApprovalPolicy = z
  .strictObject({
    /** Every tool call waits for approval. */
    required: z.boolean().optional(),
    /** Only calls of these tools (own name, `<source>/<name>`, or the model-facing name). */
    tools: z.array(z.string().min(1).max(200)).max(200).optional(),
    /** No decision within this many seconds fails that tool step (default 3600). */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86400)
      .optional(),
  })
  .refine((v) => v.required === true || (v.tools?.length ?? 0) > 0, "set required: true or list tools");

/** A scoped token: only the Nodes `selector` matches, only the `tools` listed (a tool's own name,
 * `<source>/<name>` or `mcp:<server>`). */
export const TokenScopesBody = z.strictObject({
  selector: z
    .string()
    .min(1)
    .max(1000)
    .superRefine((value, check) => {
      try {
        parseSelector(value);
      } catch (error) {
        check.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
      }
    })
    .optional(),
  tools: z.array(z.string().min(1).max(200)).min(1).max(200).optional(),
});

export const TokenBody = z.object({
  name: z.string().min(1).max(200),
  /** At most the owner's role (default: the owner's). */
  role: z.enum(["admin", "operator", "viewer"]).optional(),
  scopes: TokenScopesBody.optional(),
  /** Which MCP tool calls made with this token wait for an operator. */
  mcpApproval: ApprovalPolicy.optional(),
});

/** Per-run limits (LLM10); a field left out gets the default (create) or is kept (patch). */
export const RunBudgetBody = z.strictObject({
  /** Prompt + completion tokens across every model call of a run (default 1,000,000). */
  maxTokens: z.number().int().min(1).max(1_000_000_000).optional(),
  /** Wall-clock seconds from the start of a run, approval waits included (default 3600). */
  maxSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .optional(),
});

/** A Kubernetes label selector; one that does not parse is refused with the position of the mistake. */
export const Selector = z
  .string()
  .max(4096)
  .superRefine((value, ctx) => {
    try {
      parseSelector(value);
    } catch (error) {
      if (!(error instanceof SelectorError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message, params: { position: error.position } });
    }
  });

/** CONTRACT "Fleet jobs": one child run per target Node, at most `concurrency` at once. */
export const FanOutBody = z.strictObject({
  mode: z.literal("each"),
  concurrency: z.number().int().min(1).max(1000).default(10),
  stopOnFailure: z.boolean().default(false),
  summarize: z.boolean().default(false),
});

export const NodesQuery = z.object({ selector: Selector.optional() });

/** Where a job's runs are announced (CONTRACT "Results that reach people"). */
export const NotifyRule = z.strictObject({
  /** A channel's id or name (stored as its id). */
  channel: z.string().min(1).max(200),
  on: z
    .array(z.enum(["succeeded", "failed", "waiting_approval"]))
    .min(1)
    .max(3),
});

const ModelRef = z.object({ provider: z.string().min(1).max(200), model: z.string().min(1).max(300) });
export const JobBody = z.object({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9 _.-]{0,99}$/, "letters, digits, space, _ . - (max 100)"),
  prompt: z.string().min(1).max(100_000),
  model: ModelRef,
  fallbacks: z.array(ModelRef).max(10).default([]),
  nodes: z.array(z.string().min(1).max(200)).max(1000).default([]),
  tools: z.array(z.string().min(1).max(200)).max(1000).default([]),
  schedule: z
    .object({
      cron: z.string().min(1).max(200),
      timezone: z.string().min(1).max(100).default("UTC"),
      /** Fires missed while the Core was down: one catch-up run (default) or skip. */
      misfire: z.enum(["run_once", "skip"]).optional(),
    })
    .nullable()
    .optional(),
  webhook: z
    .object({
      slug: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/, "letters, digits, _ - (max 100)"),
      secret: z.string().min(8).max(1024).optional(),
      /** Required to save a webhook without a secret: anyone who knows the URL can start the job,
       * and its runs' exec and write-capable tools wait for approval. */
      public: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  maxSteps: z.number().int().min(1).max(500).default(20),
  enabled: z.boolean().default(true),
  approval: ApprovalPolicy.nullable().optional(),
  budget: RunBudgetBody.optional(),
  /** Structured output: the final answer must be JSON matching `schema` (checked with ajv on save). */
  output: z
    .strictObject({ schema: z.record(z.string(), z.unknown()) })
    .nullable()
    .optional(),
  /** Jobs to start when a run ends (trigger "chain"); a loop is refused on save. */
  // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function, so no await treats a job as a thenable
  then: z
    .array(
      z.strictObject({
        job: z.string().min(1).max(200),
        on: z
          .array(z.enum(["succeeded", "failed"]))
          .min(1)
          .max(2)
          .default(["succeeded"]),
      }),
    )
    .max(20)
    .optional(),
  /** Its Nodes join `nodes` when a run starts (so a Node enrolled later with the labels is in). */
  selector: Selector.nullable().optional(),
  fanOut: FanOutBody.nullable().optional(),
  notify: z.array(NotifyRule).max(20).optional(),
  /** Every target Node offline when a run starts: fail at once (default) or wait for one (22.1). */
  offlineNodes: z.enum(["fail", "wait"]).optional(),
  /** With "wait": how long before the run fails with nodes_offline (default 600 s, at most 7 days). */
  waitForNodesSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86400)
    .optional(),
});
export type JobBody = z.infer<typeof JobBody>;
export const JobPatch = JobBody.partial().extend({
  fallbacks: z.array(ModelRef).max(10).optional(),
  nodes: z.array(z.string().min(1).max(200)).max(1000).optional(),
  tools: z.array(z.string().min(1).max(200)).max(1000).optional(),
  maxSteps: z.number().int().min(1).max(500).optional(),
  enabled: z.boolean().optional(),
});
export type JobPatch = z.infer<typeof JobPatch>;

export const RunBody = z.object({ input: z.unknown().optional() }).optional();
export const RunStatus = z.enum([
  "queued",
  "running",
  "waiting_approval",
  "succeeded",
  "failed",
  "cancelled",
  "skipped",
]);
/** An instant given as an ISO date or date-time; normalised to the stored form (toISOString). */
const isoInstant = z
  .string()
  .max(64)
  .refine((v) => /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v)), "an ISO date or date-time")
  .transform((v) => new Date(v).toISOString());

export const RunsQuery = z.object({
  jobId: z.string().max(200).optional(),
  /** The children of this fan-out run; without it, only runs that are not children are listed. */
  parentRunId: z.string().max(200).optional(),
  status: RunStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.string().max(64).optional(),
  trigger: z.enum(["manual", "cron", "webhook", "chain"]).optional(),
  /** A date range on when the run was created: ISO timestamps (a date alone is its midnight UTC). */
  since: isoInstant.optional(),
  until: isoInstant.optional(),
  /** Runs that worked on this Node (id). */
  nodeId: z.string().max(200).optional(),
  /** Text in the output, the error or a tool's result, case-insensitive. */
  q: z.string().max(200).optional(),
});

/** GET /api/nodes/:id/stats/history: the last `hours` hours (the Core keeps 24). */
export const NodeStatsHistoryQuery = z.object({
  hours: z.coerce.number().int().min(1).max(24).default(24),
});

/** GET /api/runs/stats: the last `days` UTC days (today included), optionally one job's runs. */
export const RunStatsQuery = z.object({
  days: z.coerce.number().int().min(1).max(90).default(14),
  jobId: z.string().max(200).optional(),
});

export const UserBody = z.object({
  username: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,63}$/, "letters, digits, _ . @ - (max 64)"),
  password: z.string().min(12, "at least 12 characters").max(1024),
  role: z.enum(["admin", "operator", "viewer"]),
});
/** A user's own password change: the current one, and a new one with the same rule as UserBody's. */
export const PasswordChangeBody = z.object({
  currentPassword: z.string().min(1, "your current password").max(1024),
  newPassword: z.string().min(12, "at least 12 characters").max(1024),
});
export const UserPatch = z.object({
  role: z.enum(["admin", "operator", "viewer"]).optional(),
  password: z.string().min(12, "at least 12 characters").max(1024).optional(),
});

export const AuditQuery = z.object({
  action: z.string().min(1).max(100).optional(),
  actor: z.string().min(1).max(200).optional(),
  target: z.string().min(1).max(200).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  /** `true`: leave out sign-in sessions' `token.use` entries (the UI's default view). */
  hideSessionTokenUse: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const ApproveBody = z.object({ approvalId: z.string().min(1).max(100).optional() }).optional();
export const DenyBody = z.object({
  approvalId: z.string().min(1).max(100).optional(),
  reason: z.string().min(1).max(2000),
});

export const CronPreviewBody = z.object({
  cron: z.string().min(1).max(200),
  timezone: z.string().min(1).max(100).default("UTC"),
});

export const McpBody = z.union([
  z.object({
    name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,47}$/, "letters, digits, _ . - (max 48)"),
    url: z.url(),
  }),
  z
    .object({
      name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,47}$/, "letters, digits, _ . - (max 48)"),
      preset: z.string().min(1).max(100).optional(),
      image: z.string().min(1).max(512).optional(),
      mounts: z.array(McpMount).max(32).default([]),
      env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(65536)).default({}),
      /** Preset settings by name; `{ secret: "<secret name>" }` takes the value from a stored secret. */
      settings: z.record(z.string(), z.union([z.string().max(65536), z.object({ secret: z.string() })])).default({}),
      args: z.array(z.string().max(4096)).max(64).default([]),
      /** "none", "open" or {allow: ["host:port", …]} (CONTRACT "MCP containers and the network");
       * the booleans of earlier versions still parse. Unset: the preset's, or "none". */
      network: McpNetwork.optional(),
    })
    .refine((v) => Boolean(v.preset) !== Boolean(v.image), "give either preset or image"),
]);
export type McpBody = z.infer<typeof McpBody>;
