import { type Kysely, sql } from "kysely";
import { dialectOf } from "../connection.ts";
import type { Database } from "../schema.ts";
import type { RunListQuery } from "../types.ts";

/**
 * The query behind GET /api/runs (RunsRepo.list): top-level runs (a fan-out's children are listed
 * under their parent), newest first, filtered by job, status, trigger, time, free text and Node.
 */
export function runListQuery(db: Kysely<Database>, query: RunListQuery) {
  const limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), 500);
  let q = db.selectFrom("runs").selectAll();
  if (query.jobId !== undefined) q = q.where("job_id", "=", query.jobId);
  // A fan-out of 1,000 Nodes would bury every other run; its children are listed under it.
  q =
    query.parentRunId === undefined
      ? q.where("parent_run_id", "is", null)
      : q.where("parent_run_id", "=", query.parentRunId);
  if (query.status !== undefined) q = q.where("status", "=", query.status);
  if (query.before !== undefined) q = q.where("created_at", "<", query.before);
  if (query.trigger !== undefined) q = q.where("trigger", "=", query.trigger);
  if (query.since !== undefined) q = q.where("created_at", ">=", query.since);
  if (query.until !== undefined) q = q.where("created_at", "<", query.until);
  if (query.q !== undefined && query.q !== "") {
    // LIKE with the wildcards in the text escaped: a search for "50%" finds "50%", not "50".
    const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // Tool results too (issue 22.4): what the Node answered is often what one looks for ("which
    // run saw /dev/vda1 at 95%?"). They are searched as their stored JSON text, already redacted;
    // an EXISTS per candidate run, so the cost grows with the runs scanned, not with the steps kept.
    const stepResult =
      dialectOf(db) === "postgres"
        ? sql<string>`lower(coalesce(cast(run_steps.data as jsonb)->>'result', ''))`
        : sql<string>`lower(coalesce(json_extract(run_steps.data, '$.result'), ''))`;
    q = q.where((eb) =>
      eb.or([
        sql<boolean>`lower(coalesce(output, '')) like ${pattern} escape '\\'`,
        sql<boolean>`lower(coalesce(error, '')) like ${pattern} escape '\\'`,
        eb.exists(
          eb
            .selectFrom("run_steps")
            .select("run_steps.id")
            .whereRef("run_steps.run_id", "=", "runs.id")
            .where("run_steps.type", "=", "tool")
            .where(sql<boolean>`${stepResult} like ${pattern} escape '\\'`),
        ),
      ]),
    );
  }
  if (query.nodeId !== undefined) {
    const nodeId = query.nodeId;
    const stepNode =
      dialectOf(db) === "postgres"
        ? sql<string>`cast(run_steps.data as jsonb)->>'nodeId'`
        : sql<string>`json_extract(run_steps.data, '$.nodeId')`;
    q = q.where((eb) =>
      eb.or([
        eb("node_id", "=", nodeId),
        eb.exists(
          eb
            .selectFrom("run_steps")
            .select("run_steps.id")
            .whereRef("run_steps.run_id", "=", "runs.id")
            .where("run_steps.type", "=", "tool")
            .where(stepNode, "=", nodeId),
        ),
        // A fan-out parent: one of its children worked there.
        eb.exists(
          eb
            .selectFrom("runs as child")
            .select("child.id")
            .whereRef("child.parent_run_id", "=", "runs.id")
            .where("child.node_id", "=", nodeId),
        ),
      ]),
    );
  }
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(limit);
}
