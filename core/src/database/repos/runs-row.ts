import { parseJson, parseJsonOr } from "../json.ts";
import type { RunRow } from "../schema.ts";
import type { PendingApproval, Run, RunWaiting, RunWebhook, Usage } from "../types.ts";

/** A runs row as the rest of the Core sees it: JSON columns parsed (a damaged one names its column). */
export const ZERO_USAGE: Usage = { promptTokens: 0, completionTokens: 0 };

export function toRun(row: RunRow): Run {
  return {
    id: row.id,
    jobId: row.job_id,
    trigger: row.trigger,
    status: row.status,
    input: parseJson<unknown>(row.input, "runs.input"),
    output: row.output,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    owner: row.owner,
    cancelRequestedAt: row.cancel_requested_at,
    usage: parseJsonOr<Usage>(row.usage, "runs.usage", ZERO_USAGE),
    pendingApproval: parseJson<PendingApproval>(row.pending_approval, "runs.pending_approval"),
    webhook: parseJson<RunWebhook>(row.webhook, "runs.webhook"),
    result: row.result === null ? null : parseJson<unknown>(row.result, "runs.result"),
    chainDepth: row.chain_depth,
    parentRunId: row.parent_run_id,
    nodeId: row.node_id,
    nodeName: row.node_name,
    waiting: parseJson<RunWaiting>(row.waiting ?? null, "runs.waiting"),
  };
}
