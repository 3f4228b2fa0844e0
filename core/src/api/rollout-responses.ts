import { z } from "zod";

/** The answers of the staged-rollout routes (routes/node-rollouts.ts), for the OpenAPI document. */

const isoTime = z.string().describe("ISO-8601 timestamp");

export const RolloutNodeView = z.looseObject({
  nodeId: z.string(),
  name: z.string(),
  batch: z.number().int().describe("1-based batch this Node is updated in"),
  position: z.number().int(),
  state: z
    .enum([
      "pending",
      "updating",
      "updated",
      "refused",
      "rolled_back",
      "failed",
      "timeout",
      "offline_skipped",
      "cancelled",
    ])
    .describe("refused / rolled_back / failed / timeout count against maxFailures; offline_skipped does not"),
  code: z.string().nullable().describe("e.g. bad_signature, digest_mismatch, deadline, offline"),
  reason: z.string().nullable(),
  fromVersion: z.string().nullable(),
  startedAt: isoTime.nullable(),
  finishedAt: isoTime.nullable(),
});

const RolloutFields = {
  id: z.string(),
  version: z.string().describe("the Node version the rollout moves its Nodes to"),
  target: z.union([z.object({ nodeIds: z.array(z.string()) }), z.object({ selector: z.string() })]),
  batchSize: z.number().int(),
  maxFailures: z.number().int(),
  deadlineMs: z.number().int(),
  state: z.enum(["running", "paused", "completed", "cancelled"]),
  reason: z.string().nullable().describe("why it paused"),
  currentBatch: z.number().int(),
  batchCount: z.number().int(),
  batchStartedAt: isoTime.nullable(),
  createdBy: z.string(),
  createdAt: isoTime,
  updatedAt: isoTime,
  finishedAt: isoTime.nullable(),
};

export const NodeRolloutView = z.looseObject({ ...RolloutFields, nodes: z.array(RolloutNodeView) });
if (!z.globalRegistry.has(NodeRolloutView)) z.globalRegistry.add(NodeRolloutView, { id: "NodeRollout" });

export const NodeRolloutList = z.object({
  policy: z.enum(["auto", "staged"]).describe("FABRICORE_NODE_UPDATE_POLICY: what happens with no rollout active"),
  rollouts: z.array(z.looseObject({ ...RolloutFields, counts: z.record(z.string(), z.number().int()) })),
});
