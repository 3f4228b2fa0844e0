import type { SystemStats } from "@fabricore/protocol";
import type { z } from "zod";
import type { LlmStep as CoreLlmStep, ToolStep as CoreToolStep } from "../../../src/agent/types.ts";
import type * as Res from "../../../src/api/responses.ts";
import type { NodeRolloutList } from "../../../src/api/rollout-responses.ts";
import type * as Req from "../../../src/api/schemas.ts";
import type { ChannelBody } from "../../../src/channels/channel-config.ts";
import type { McpApproval as CoreMcpApproval } from "../../../src/database/repos/mcp-approvals-repo.ts";
import type { NodeRollout } from "../../../src/database/repos/node-rollouts-repo.ts";
import type * as Db from "../../../src/database/types.ts";
import type { ModelInfo } from "../../../src/llm/types.ts";
import type {
  AuditEntryView as CoreAuditEntryView,
  AuditLink as CoreAuditLink,
} from "../../../src/services/audit-view.ts";
import type { NodeView } from "../../../src/services/fleet.ts";
import type { JobView } from "../../../src/services/jobs.ts";
import type { McpPreset as CoreMcpPreset } from "../../../src/services/mcp-presets.ts";
import type { McpServers } from "../../../src/services/mcp-servers.ts";
import type { Runs } from "../../../src/services/runs.ts";

/**
 * The wire shapes of the Core's HTTP API, taken from the Core's own code (its zod request and
 * response schemas, its domain and view types) instead of copied, so renaming a field in the Core
 * fails `tsc -p core/ui` where the UI reads it. Every import here is `import type`: erased at build,
 * so no server code reaches the bundle. Where the UI needs a narrower or looser view, it is derived
 * (Pick/Omit/Partial) from the Core's type, never written out again.
 */

/** A zod `looseObject`'s inferred type has `[k: string]: unknown`, under which a misspelled or
 * renamed field still type-checks (as unknown); this keeps only the named fields. */
type Known<T> = { [K in keyof T as string extends K ? never : K]: T[K] };
type Answer<S extends z.ZodType> = Known<z.infer<S>>;
type Result<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;
/** Fields the Core always sends that the UI may also build itself (forms, optimistic updates). */
type Loosen<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export type Role = Db.Role;
export type RunStatus = Db.RunStatus;
export type RunTrigger = Db.RunTrigger;
export type ProviderKind = Db.ProviderKind;
export type ChannelKind = Db.ChannelKind;
export type ModelRef = Db.ModelRef;
export type ApprovalPolicy = Db.ApprovalPolicy;
export type PendingApproval = Db.PendingApproval;
export type TokenScopes = Db.TokenScopes;
export type FanOut = Db.FanOut;
export type NotifyRule = Db.NotifyRule;
export type NotifyEvent = Db.NotifyStatus;
export type ThenRule = Db.ChainRule;
export type JobBudget = Db.RunBudget;
export type MisfirePolicy = NonNullable<Db.JobSchedule["misfire"]>;

// --- Nodes ---

export type NodeStatus = NodeView["status"];
export type NodeTool = NodeView["tools"][number];
/** GET /api/nodes(/:id). The Core passes a connected Node's heartbeat stats through as it got them
 * (protocol SystemStats); a Node that has sent none yet has none. */
export type FleetNode = Omit<NodeView, "stats"> & { stats?: Partial<SystemStats> | null };
export type EnrolledNode = Answer<typeof Res.EnrolledNode>;
/** One bucket of GET /api/nodes/:id/stats/history (means of the heartbeats in it). */
export type NodeStatsHistory = z.infer<typeof Res.NodeStatsHistory>;
export type NodeStatsPoint = NodeStatsHistory["points"][number];

// --- MCP servers ---

type McpServerAnswer = Result<McpServers["list"]>[number];
/** A server as GET /api/nodes/:id/mcp lists it: remote or managed, so each kind's fields are optional. */
export type McpServer = Pick<McpServerAnswer, "name" | "kind" | "state" | "restarts" | "tools"> &
  Partial<UnionFields<McpServerAnswer>>;
type UnionFields<U> = { [K in U extends unknown ? keyof U : never]: U extends { [P in K]?: infer V } ? V : never };
/** GET /api/mcp/presets: the Core's catalog entries as they are. */
export type McpPreset = CoreMcpPreset;
export type McpPresetSetting = McpPreset["settings"][number];
type ManagedMcpBody = Exclude<z.input<typeof Req.McpBody>, { url: string }>;
export type McpMountInput = NonNullable<ManagedMcpBody["mounts"]>[number];
/** A preset setting's value: typed in, or taken from a stored secret by name. */
export type McpSettingValue = NonNullable<ManagedMcpBody["settings"]>[string];
export type InstallMcpBody = z.input<typeof Req.McpBody>;
/** A tool call an MCP client made through /mcp that its token's approval policy holds. */
export type McpApproval = CoreMcpApproval;
/** One MCP tool call from the audit log (`mcp.tool.call`); `detail` is the audit entry's, of which
 * the page reads these (the Core writes it as a plain record, core/src/mcp-server/fleet-tool-caller.ts). */
export type McpCall = Answer<typeof Res.McpCall> & {
  detail: { durationMs?: number; reason?: string; error?: string; isError?: boolean; arguments?: unknown };
};

// --- Providers and secrets ---

/** What a provider form edits of its options (the request schema's); the rest are kept as stored. */
export type ProviderOptions = NonNullable<z.input<typeof Req.ProviderBody>["options"]> & Db.ProviderOptions;
/** The Core stores `options` as its request schema checked them. */
export type Provider = Omit<Db.Provider, "options"> & { options: ProviderOptions };
/** POST /api/providers/test and /:id/test: a failed connection is an answer too. */
export type ProviderTestAnswer = z.infer<typeof Res.ProviderTest>;
/** POST /api/providers; a PATCH's `apiKey` null removes the stored key, absent keeps it. */
export type ProviderInput = z.input<typeof Req.ProviderBody>;
export type ProviderPatch = z.input<typeof Req.ProviderPatchBody>;
export type ProviderModel = Pick<ModelInfo, "id" | "loaded" | "loadedContextLength" | "toolUse">;

export type Secret = z.infer<typeof Res.SecretInfo>;
/** A sealed value of any kind the Core cannot decrypt (GET /api/secrets/unreadable). */
export type UnreadableSecret = z.infer<typeof Res.UnreadableSecret>;

// --- Jobs ---

export type JobSchedule = NonNullable<JobView["schedule"]>;
export type JobWebhook = NonNullable<JobView["webhook"]>;
export type Job = JobView;
/** What the job form sends (POST /api/jobs, PATCH /api/jobs/:id): the request schema's input. */
export type JobInput = z.input<typeof Req.JobBody>;
export type CronPreview = z.infer<typeof Res.CronPreview>;

// --- Runs ---

type RunListItem = Result<Runs["list"]>[number];
type RunDetail = Result<Runs["view"]>;
/** Steps as GET /api/runs/:id lists them: the step as the agent wrote it, with its place and time. */
type Stored<S> = S & { seq: number; at: string };
export type LlmStep = Stored<CoreLlmStep>;
export type ToolStep = Stored<CoreToolStep>;
export type RunStep = LlmStep | ToolStep;
export type Delivery = RunDetail["deliveries"][number];
export type RunChild = Extract<RunDetail, { children: unknown }>["children"][number];
export type FanOutSummary = Extract<RunDetail, { summary: unknown }>["summary"];
/** A run from the list (models and Nodes used) or from GET /api/runs/:id (steps, deliveries, and a
 * fan-out parent's children): one type, the parts of each optional, so one page can show either. */
export type Run = Omit<RunListItem, "models" | "nodes"> &
  Partial<Pick<RunListItem, "models" | "nodes">> &
  Partial<Omit<RunDetail, keyof RunListItem | "steps">> & {
    steps?: RunStep[];
    children?: RunChild[];
    summary?: FanOutSummary;
  };
export type Usage = Db.Usage;
/** One UTC day of GET /api/runs/stats. */
export type RunDay = z.infer<typeof Res.RunStats>["days"][number];

// --- Channels ---

/** Secret config fields are never returned: `secrets` names the ones that are set. */
export type Channel = Db.Channel;
/** What the receiver answered a test message; `ok: false` is an answer, not an error. */
export type ChannelTestResult = Answer<typeof Res.ChannelTest>;
/** POST /api/channels, PATCH /api/channels/:id: the form builds `config` for whichever kind is picked
 * (the Core checks it against that kind's schema and answers field errors). */
export type ChannelInput = Pick<z.input<typeof ChannelBody>, "name" | "kind"> & { config: Record<string, unknown> };

// --- Users, tokens, audit ---

export type User = Loosen<Omit<Db.User, "passwordHash" | "failedLogins">, "createdAt" | "lockedUntil">;
export type ApiToken = Pick<Db.ApiToken, "id" | "name" | "scopes" | "mcpApproval" | "createdAt" | "lastUsedAt"> & {
  role: Role;
};
export type CreatedApiToken = Answer<typeof Res.CreatedToken>;
/** POST /api/tokens: a lower `role`, `scopes` (Nodes by selector, tools by name) and which MCP
 * calls wait for an operator are optional limits. */
export type CreateApiTokenBody = z.input<typeof Req.TokenBody>;
/** GET /api/auth/me: who is signed in. */
export type Me = z.infer<typeof Res.Me>;
export type AuditEntry = Omit<Db.AuditEntry, "resultHash">;
/** GET /api/audit's entry: the stored one plus what it names that still exists, by current name. */
export type AuditEntryView = Omit<CoreAuditEntryView, "resultHash">;
export type AuditLink = CoreAuditLink;
export type AuditLinkKind = AuditLink["kind"];
export type AuditLinkRole = AuditLink["role"];

// --- Lists the UI offers. Values, so written here (the Core's own would bring Core modules into the
// bundle); each is a Record keyed by the Core's union, so a member the Core adds or renames fails tsc.

const members = <U extends string>(all: Record<U, true>): readonly U[] => Object.keys(all) as U[];

export const NOTIFY_EVENTS = members<NotifyEvent>({ succeeded: true, failed: true, waiting_approval: true });
export const CHANNEL_KINDS = members<ChannelKind>({
  webhook: true,
  slack: true,
  discord: true,
  ntfy: true,
  email: true,
});
/** The runs filter's statuses: a fan-out child's `skipped` is shown on its parent, not filtered for. */
export const RUN_STATUSES: readonly RunStatus[] = members<RunStatus>({
  queued: true,
  running: true,
  waiting_approval: true,
  succeeded: true,
  failed: true,
  cancelled: true,
  skipped: true,
}).filter((s) => s !== "skipped");
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "waiting_approval"];
export const ROLES = members<Role>({ admin: true, operator: true, viewer: true });

// --- Node rollouts (issue 18): POST /api/nodes/update, GET /api/nodes/rollouts[/:id] ---

export type Rollout = NodeRollout;
export type RolloutNode = NodeRollout["nodes"][number];
export type RolloutSummary = Omit<NodeRollout, "nodes"> & { counts: Record<string, number> };
export interface RolloutList {
  policy: Answer<typeof NodeRolloutList>["policy"];
  rollouts: RolloutSummary[];
}
/** POST /api/nodes/update as the dialog sends it (the Core's NodeUpdateBody lives in its route file,
 * whose Fastify types the UI's tsc cannot load). */
export type StartRolloutBody =
  | { nodeIds: string[]; batchSize: number; maxFailures: number }
  | { selector: string; batchSize: number; maxFailures: number };
