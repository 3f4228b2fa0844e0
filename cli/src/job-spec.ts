import { z } from "zod";
import type { JobView } from "./api-schemas.ts";

/**
 * A job as a file: the body of POST /api/jobs (CONTRACT "HTTP API", "A job"), checked here with
 * strict objects so that a misspelt key (`promt:`) is an error naming it instead of a field the
 * API silently drops. The value rules (name patterns, cron, providers, Nodes…) stay the API's:
 * its message is printed. The job schema is not exported by protocol/, and the command line
 * imports nothing of the Core, so the shape is written out here.
 */
const ModelRef = z.strictObject({ provider: z.string().min(1), model: z.string().min(1) });
const Strings = z.array(z.string().min(1));

export const JobFile = z.strictObject({
  name: z.string().min(1).max(100),
  prompt: z.string().min(1),
  model: ModelRef,
  fallbacks: z.array(ModelRef).optional(),
  nodes: Strings.optional(),
  tools: Strings.optional(),
  schedule: z
    .strictObject({
      cron: z.string().min(1),
      timezone: z.string().min(1).optional(),
      misfire: z.enum(["run_once", "skip"]).optional(),
    })
    .nullable()
    .optional(),
  webhook: z
    .strictObject({
      slug: z.string().min(1),
      secret: z.string().min(1).optional(),
      /** The secret from this environment variable when the file is applied, so that it need
       * not be committed to the repository with the file (read by job-files.ts). */
      secretEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
        .optional(),
      public: z.boolean().optional(),
    })
    .refine((w) => !(w.secret && w.secretEnv), "give secret or secretEnv, not both")
    .nullable()
    .optional(),
  maxSteps: z.number().int().positive().optional(),
  enabled: z.boolean().optional(),
  approval: z
    .strictObject({
      required: z.boolean().optional(),
      tools: Strings.optional(),
      timeoutSeconds: z.number().int().positive().optional(),
    })
    .nullable()
    .optional(),
  budget: z
    .strictObject({
      maxTokens: z.number().int().positive().optional(),
      maxSeconds: z.number().int().positive().optional(),
    })
    .optional(),
  output: z
    .strictObject({ schema: z.record(z.string(), z.unknown()) })
    .nullable()
    .optional(),
  // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function
  then: z
    .array(
      z.strictObject({
        job: z.string().min(1),
        on: z
          .array(z.enum(["succeeded", "failed"]))
          .min(1)
          .optional(),
      }),
    )
    .optional(),
  selector: z.string().nullable().optional(),
  fanOut: z
    .strictObject({
      mode: z.literal("each"),
      concurrency: z.number().int().positive().optional(),
      stopOnFailure: z.boolean().optional(),
      summarize: z.boolean().optional(),
    })
    .nullable()
    .optional(),
  notify: z
    .array(
      z.strictObject({
        channel: z.string().min(1),
        on: z.array(z.enum(["succeeded", "failed", "waiting_approval"])).min(1),
      }),
    )
    .optional(),
  offlineNodes: z.enum(["fail", "wait"]).optional(),
  waitForNodesSeconds: z.number().int().positive().optional(),
});
export type JobFile = z.infer<typeof JobFile>;

/**
 * The Core's defaults for what a file leaves out (core/src/api/schemas.ts JobBody and
 * database/types.ts DEFAULT_MAX_*). A file is the whole truth about its job: a field left out
 * means this default, so deleting `schedule:` from a file removes the schedule. The e2e round
 * trip (a job created without them exports without them) fails if the Core's defaults move.
 */
export const DEFAULTS = {
  maxSteps: 20,
  enabled: true,
  timezone: "UTC",
  budget: { maxTokens: 1_000_000, maxSeconds: 3600 },
  fanOut: { concurrency: 10, stopOnFailure: false, summarize: false },
  thenOn: ["succeeded"] as ("succeeded" | "failed")[],
  offlineNodes: "fail",
  waitForNodesSeconds: 600,
} as const;

/** Every field present, references by name: the form both sides are compared in. */
export interface JobSpec {
  name: string;
  prompt: string;
  model: { provider: string; model: string };
  fallbacks: { provider: string; model: string }[];
  nodes: string[];
  tools: string[];
  schedule: { cron: string; timezone: string; misfire?: "run_once" | "skip" } | null;
  webhook: { slug: string; public: boolean } | null;
  maxSteps: number;
  enabled: boolean;
  approval: { required?: boolean; tools?: string[]; timeoutSeconds?: number } | null;
  budget: { maxTokens: number; maxSeconds: number };
  output: { schema: Record<string, unknown> } | null;
  then: { job: string; on: ("succeeded" | "failed")[] }[];
  selector: string | null;
  fanOut: { mode: "each"; concurrency: number; stopOnFailure: boolean; summarize: boolean } | null;
  notify: { channel: string; on: ("succeeded" | "failed" | "waiting_approval")[] }[];
  offlineNodes: "fail" | "wait";
  waitForNodesSeconds: number;
}
export const SPEC_FIELDS: (keyof JobSpec)[] = [
  "name",
  "prompt",
  "model",
  "fallbacks",
  "nodes",
  "tools",
  "schedule",
  "webhook",
  "maxSteps",
  "enabled",
  "approval",
  "budget",
  "output",
  "then",
  "selector",
  "fanOut",
  "notify",
  "offlineNodes",
  "waitForNodesSeconds",
];

/** id → name of what jobs refer to. The Core stores Nodes, providers, channels and chained jobs
 * by id; files name them. A reference that is neither a known id nor a name is kept as written
 * (the API then says what is wrong with it). */
export interface NameIndex {
  nodes: Map<string, string>;
  providers: Map<string, string>;
  channels: Map<string, string>;
  jobs: Map<string, string>;
}

const nameOf = (index: Map<string, string>, ref: string) => index.get(ref) ?? ref;
const unique = <T>(values: T[]) => [...new Set(values)];

/** A file's job, with the Core's defaults filled and its references as names. */
export function specOfFile(file: JobFile, names: NameIndex): { spec: JobSpec; webhookSecret?: string } {
  const model = (m: { provider: string; model: string }) => ({
    provider: nameOf(names.providers, m.provider),
    model: m.model,
  });
  const spec: JobSpec = {
    name: file.name,
    prompt: file.prompt,
    model: model(file.model),
    fallbacks: (file.fallbacks ?? []).map(model),
    nodes: unique((file.nodes ?? []).map((n) => nameOf(names.nodes, n))),
    tools: file.tools ?? [],
    schedule: file.schedule
      ? {
          cron: file.schedule.cron,
          timezone: file.schedule.timezone ?? DEFAULTS.timezone,
          ...(file.schedule.misfire ? { misfire: file.schedule.misfire } : {}),
        }
      : null,
    webhook: file.webhook ? { slug: file.webhook.slug, public: file.webhook.public ?? false } : null,
    maxSteps: file.maxSteps ?? DEFAULTS.maxSteps,
    enabled: file.enabled ?? DEFAULTS.enabled,
    approval: file.approval ?? null,
    budget: { ...DEFAULTS.budget, ...file.budget },
    output: file.output ?? null,
    // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function
    then: (file.then ?? []).map((t) => ({ job: nameOf(names.jobs, t.job), on: unique(t.on ?? DEFAULTS.thenOn) })),
    selector: file.selector?.trim() ? file.selector : null,
    fanOut: file.fanOut ? { ...DEFAULTS.fanOut, ...file.fanOut } : null,
    notify: (file.notify ?? []).map((n) => ({ channel: nameOf(names.channels, n.channel), on: unique(n.on) })),
    offlineNodes: file.offlineNodes ?? DEFAULTS.offlineNodes,
    waitForNodesSeconds: file.waitForNodesSeconds ?? DEFAULTS.waitForNodesSeconds,
  };
  return { spec, webhookSecret: file.webhook?.secret };
}

/** A job as the API shows it, in the same form. */
export function specOfView(view: JobView, names: NameIndex): { spec: JobSpec; hasWebhookSecret: boolean } {
  const model = (m: { provider: string; model: string }) => ({
    provider: nameOf(names.providers, m.provider),
    model: m.model,
  });
  const spec: JobSpec = {
    name: view.name,
    prompt: view.prompt,
    model: model(view.model),
    fallbacks: view.fallbacks.map(model),
    nodes: view.nodes.map((n) => nameOf(names.nodes, n)),
    tools: view.tools,
    schedule: view.schedule
      ? {
          cron: view.schedule.cron,
          timezone: view.schedule.timezone,
          ...(view.schedule.misfire ? { misfire: view.schedule.misfire } : {}),
        }
      : null,
    webhook: view.webhook ? { slug: view.webhook.slug, public: view.webhook.public } : null,
    maxSteps: view.maxSteps,
    enabled: view.enabled,
    approval: view.approval,
    budget: view.budget ?? { ...DEFAULTS.budget },
    output: view.output,
    // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function
    then: view.then.map((t) => ({ job: nameOf(names.jobs, t.job), on: t.on })),
    selector: view.selector,
    fanOut: view.fanOut,
    notify: view.notify.map((n) => ({ channel: nameOf(names.channels, n.channel), on: n.on })),
    // A Core older than the setting answers without it: it always failed at once.
    offlineNodes: view.offlineNodes ?? DEFAULTS.offlineNodes,
    waitForNodesSeconds: view.waitForNodesSeconds ?? DEFAULTS.waitForNodesSeconds,
  };
  return { spec, hasWebhookSecret: view.webhook?.hasSecret ?? false };
}

/**
 * The fields that differ. Objects compare by value whatever their key order; arrays in order
 * (the order of `nodes` and `fallbacks` means something). A webhook secret cannot be compared —
 * the API never shows it — so only its presence counts: a file that gives one for a webhook
 * that has none is a change; a different secret for a webhook that has one is not seen.
 */
export function diffSpecs(
  desired: { spec: JobSpec; webhookSecret?: string },
  current: { spec: JobSpec; hasWebhookSecret: boolean },
): (keyof JobSpec)[] {
  const changed = SPEC_FIELDS.filter((field) => canonical(desired.spec[field]) !== canonical(current.spec[field]));
  if (desired.webhookSecret && !current.hasWebhookSecret && !changed.includes("webhook")) changed.push("webhook");
  return changed;
}

/** The request body that makes the Core's job equal to `spec` (create and full update alike). */
export function bodyOfSpec(spec: JobSpec, webhookSecret?: string): Record<string, unknown> {
  return {
    ...spec,
    webhook: spec.webhook ? { ...spec.webhook, ...(webhookSecret ? { secret: webhookSecret } : {}) } : null,
  };
}

/** A spec as a file: fields at their default left out, so an exported file says only what matters. */
export function fileOfSpec(spec: JobSpec): Record<string, unknown> {
  const out: Record<string, unknown> = { name: spec.name, prompt: spec.prompt, model: spec.model };
  if (spec.fallbacks.length) out.fallbacks = spec.fallbacks;
  if (spec.nodes.length) out.nodes = spec.nodes;
  if (spec.selector !== null) out.selector = spec.selector;
  if (spec.tools.length) out.tools = spec.tools;
  if (spec.schedule) {
    const { timezone, ...rest } = spec.schedule;
    out.schedule = timezone === DEFAULTS.timezone ? rest : spec.schedule;
  }
  if (spec.webhook) out.webhook = spec.webhook.public ? spec.webhook : { slug: spec.webhook.slug };
  if (spec.maxSteps !== DEFAULTS.maxSteps) out.maxSteps = spec.maxSteps;
  if (spec.enabled !== DEFAULTS.enabled) out.enabled = spec.enabled;
  if (spec.approval) out.approval = spec.approval;
  const budget = Object.fromEntries(
    Object.entries(spec.budget).filter(([k, v]) => DEFAULTS.budget[k as keyof typeof DEFAULTS.budget] !== v),
  );
  if (Object.keys(budget).length) out.budget = budget;
  if (spec.output) out.output = spec.output;
  if (spec.then.length)
    // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function
    out.then = spec.then.map((t) => (canonical(t.on) === canonical(DEFAULTS.thenOn) ? { job: t.job } : t));
  if (spec.fanOut) {
    out.fanOut = Object.fromEntries(
      Object.entries(spec.fanOut).filter(
        ([k, v]) => k === "mode" || DEFAULTS.fanOut[k as keyof typeof DEFAULTS.fanOut] !== v,
      ),
    );
  }
  if (spec.notify.length) out.notify = spec.notify;
  if (spec.offlineNodes !== DEFAULTS.offlineNodes) out.offlineNodes = spec.offlineNodes;
  if (spec.waitForNodesSeconds !== DEFAULTS.waitForNodesSeconds) out.waitForNodesSeconds = spec.waitForNodesSeconds;
  return out;
}

/** JSON with object keys sorted: equal values, equal strings. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
