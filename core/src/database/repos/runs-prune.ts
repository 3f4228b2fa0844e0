import type { Kysely } from "kysely";
import type { Database, RunStatus } from "../schema.ts";
import { ACTIVE_RUN_STATUSES } from "../types.ts";

const NON_FINAL: RunStatus[] = ["queued", ...ACTIVE_RUN_STATUSES];

/**
 * Retention (FABRICORE_RUN_RETENTION_DAYS): deletes finished runs that ended before `before`,
 * at most `batch` at a time (so one sweep never holds the write lock for long); their steps and
 * deliveries go with them (ON DELETE CASCADE). A fan-out's children go with their parent, never
 * alone, and a parent stays while a child of it is not finished. Returns how many runs went.
 */
export async function pruneFinishedRuns(db: Kysely<Database>, before: string, batch: number): Promise<number> {
  const old = db
    .selectFrom("runs")
    .select("id")
    .where("finished_at", "<", before)
    .where("status", "not in", NON_FINAL)
    .where("parent_run_id", "is", null)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("runs as child")
            .select("child.id")
            .whereRef("child.parent_run_id", "=", "runs.id")
            .where("child.finished_at", "is", null),
        ),
      ),
    )
    .orderBy("finished_at")
    .limit(batch);
  const ids = (await old.execute()).map((r) => r.id);
  if (ids.length === 0) return 0;
  return db.transaction().execute(async (tx) => {
    const children = await tx.deleteFrom("runs").where("parent_run_id", "in", ids).executeTakeFirst();
    const runs = await tx.deleteFrom("runs").where("id", "in", ids).executeTakeFirst();
    return Number(children.numDeletedRows) + Number(runs.numDeletedRows);
  });
}
