import { type Kysely, sql } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { dialectOf } from "../connection.ts";
import { isUniqueViolation, translateConstraint } from "../errors.ts";
import { parseJsonOr, toJson } from "../json.ts";
import type { Database, RunStepRow } from "../schema.ts";
import type { NewRunStep, RunStep, StepData } from "../types.ts";

const MAX_APPEND_ATTEMPTS = 50;

function toStep(row: RunStepRow): RunStep {
  return {
    id: row.id,
    runId: row.run_id,
    seq: row.seq,
    type: row.type,
    data: parseJsonOr<StepData>(row.data, "run_steps.data", {}),
    createdAt: row.created_at,
  };
}

export class StepsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * For a runs list (issue 22.4): per run, the models its model turns used ("provider / model")
   * and the Nodes its tool steps ran on, each once, in first-use order. Reads three fields of
   * each step's JSON in the database, not the steps themselves (their results may be large).
   */
  async summaries(runIds: string[]): Promise<Map<string, { models: string[]; nodes: string[] }>> {
    const out = new Map<string, { models: string[]; nodes: string[] }>();
    if (runIds.length === 0) return out;
    const pg = dialectOf(this.db) === "postgres";
    const field = (name: string) =>
      pg ? sql<string | null>`cast(data as jsonb)->>${name}` : sql<string | null>`json_extract(data, ${`$.${name}`})`;
    const rows = await this.db
      .selectFrom("run_steps")
      .select([
        "run_id",
        "type",
        field("provider").as("provider"),
        field("model").as("model"),
        field("node").as("node"),
      ])
      .where("run_id", "in", runIds)
      .orderBy("run_id")
      .orderBy("seq")
      .execute();
    for (const row of rows) {
      let entry = out.get(row.run_id);
      if (!entry) {
        entry = { models: [], nodes: [] };
        out.set(row.run_id, entry);
      }
      const value =
        row.type === "llm" ? (row.provider && row.model ? `${row.provider} / ${row.model}` : null) : row.node || null;
      const list = row.type === "llm" ? entry.models : entry.nodes;
      if (value !== null && !list.includes(value)) list.push(value);
    }
    return out;
  }

  /**
   * Appends with the next seq of the run, computed inside the INSERT. Two concurrent appends can
   * still compute the same seq on PostgreSQL (each statement reads its own snapshot); the unique
   * (run_id, seq) index rejects the second, which retries. Throws `invalid_reference` for an
   * unknown run.
   */
  async append(runId: string, step: NewRunStep): Promise<RunStep> {
    const data = toJson(step.data);
    for (let attempt = 1; ; attempt++) {
      try {
        const row = await translateConstraint(`step of run ${runId}`, () =>
          this.db
            .insertInto("run_steps")
            .columns(["run_id", "seq", "type", "data", "created_at"])
            .expression((eb) =>
              eb
                .selectFrom("run_steps")
                .select([
                  // Casts so PostgreSQL knows the parameter types in a SELECT list.
                  sql<string>`cast(${runId} as text)`.as("run_id"),
                  sql<number>`coalesce(max(seq), 0) + 1`.as("seq"),
                  sql<string>`cast(${step.type} as text)`.as("type"),
                  sql<string>`cast(${data} as text)`.as("data"),
                  sql<string>`cast(${isoNow(this.clock)} as text)`.as("created_at"),
                ])
                .where("run_id", "=", runId),
            )
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toStep(row);
      } catch (err) {
        const conflict = err instanceof Error && isUniqueViolation(err.cause);
        if (!conflict || attempt >= MAX_APPEND_ATTEMPTS) throw err;
      }
    }
  }

  /** In seq order; `afterSeq` for SSE resumption (steps with seq > afterSeq). */
  async list(runId: string, options: { afterSeq?: number } = {}): Promise<RunStep[]> {
    let q = this.db.selectFrom("run_steps").selectAll().where("run_id", "=", runId);
    if (options.afterSeq !== undefined) q = q.where("seq", ">", options.afterSeq);
    const rows = await q.orderBy("seq").execute();
    return rows.map(toStep);
  }
}
