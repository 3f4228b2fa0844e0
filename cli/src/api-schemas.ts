import { z } from "zod";

/**
 * The slices of the API's answers the command line reads (CONTRACT "HTTP API"; the routes in
 * core/src/api/routes/). Loose objects: the Core may add fields, and `--json` prints the answer
 * as it came, so nothing it sends is lost here.
 */

export const NodeView = z.looseObject({
  id: z.string(),
  name: z.string(),
  labels: z.record(z.string(), z.string()).default({}),
  status: z.string(),
  lastSeenAt: z.string().nullable().optional(),
  version: z.string().nullable().optional(),
  updateAvailable: z.boolean().optional(),
  tools: z.array(z.looseObject({ name: z.string() })).default([]),
});
export type NodeView = z.infer<typeof NodeView>;

const ModelRef = z.object({ provider: z.string(), model: z.string() });

export const JobView = z.looseObject({
  id: z.string(),
  name: z.string(),
  prompt: z.string(),
  model: ModelRef,
  fallbacks: z.array(ModelRef).default([]),
  nodes: z.array(z.string()).default([]),
  tools: z.array(z.string()).default([]),
  schedule: z
    .looseObject({
      cron: z.string(),
      timezone: z.string(),
      misfire: z.enum(["run_once", "skip"]).optional(),
      nextFireAt: z.string().nullable().optional(),
    })
    .nullable()
    .default(null),
  webhook: z.object({ slug: z.string(), hasSecret: z.boolean(), public: z.boolean() }).nullable().default(null),
  maxSteps: z.number(),
  enabled: z.boolean(),
  approval: z
    .object({
      required: z.boolean().optional(),
      tools: z.array(z.string()).optional(),
      timeoutSeconds: z.number().optional(),
    })
    .nullable()
    .default(null),
  budget: z.object({ maxTokens: z.number(), maxSeconds: z.number() }).optional(),
  output: z
    .object({ schema: z.record(z.string(), z.unknown()) })
    .nullable()
    .default(null),
  // biome-ignore lint/suspicious/noThenProperty: CONTRACT names the field `then`; it is an array, never a function
  then: z.array(z.object({ job: z.string(), on: z.array(z.enum(["succeeded", "failed"])) })).default([]),
  selector: z.string().nullable().default(null),
  fanOut: z
    .object({ mode: z.literal("each"), concurrency: z.number(), stopOnFailure: z.boolean(), summarize: z.boolean() })
    .nullable()
    .default(null),
  notify: z
    .array(z.object({ channel: z.string(), on: z.array(z.enum(["succeeded", "failed", "waiting_approval"])) }))
    .default([]),
  offlineNodes: z.enum(["fail", "wait"]).optional(),
  waitForNodesSeconds: z.number().optional(),
});
export type JobView = z.infer<typeof JobView>;

export const Named = z.looseObject({ id: z.string(), name: z.string() });

export const PendingApproval = z.looseObject({
  id: z.string(),
  tool: z.string(),
  node: z.string(),
  arguments: z.unknown(),
  deadline: z.string().optional(),
});

export const RunView = z.looseObject({
  id: z.string(),
  jobId: z.string(),
  trigger: z.string(),
  status: z.string(),
  output: z.string().nullable().optional(),
  error: z.string().nullable().optional(),
  createdAt: z.string().optional(),
  startedAt: z.string().nullable().optional(),
  finishedAt: z.string().nullable().optional(),
  pendingApproval: PendingApproval.nullable().optional(),
  /** A fan-out run's child runs, one per target Node (CONTRACT "Fleet jobs"). */
  children: z
    .array(
      z.looseObject({
        id: z.string(),
        nodeName: z.string().nullable().optional(),
        status: z.string(),
        error: z.string().nullable().optional(),
      }),
    )
    .optional(),
});
export type RunView = z.infer<typeof RunView>;

export const RunStarted = z.object({ runId: z.string() });
export const Ok = z.unknown();
