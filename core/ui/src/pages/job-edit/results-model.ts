// biome-ignore-all lint/suspicious/noThenProperty: a job's `then` (CONTRACT "Chaining") is an array, never a function
import type { Job, JobInput, NotifyEvent, NotifyRule, ThenRule } from "../../api/types.ts";

/* The Results section's part of the job form (CONTRACT "Results that reach people"): who hears of
 * a run, the JSON its answer must be, and the jobs that follow it. Pure, like form-model.ts. */

export interface ResultsState {
  notify: NotifyRule[];
  /** Structured output: on, and the JSON Schema as the text being edited. */
  outputOn: boolean;
  outputSchema: string;
  then: ThenRule[];
}

export const EXAMPLE_SCHEMA = JSON.stringify(
  {
    type: "object",
    properties: { ok: { type: "boolean" }, summary: { type: "string" } },
    required: ["ok", "summary"],
  },
  null,
  2,
);

export const EVENT_LABELS: Record<NotifyEvent, string> = {
  succeeded: "Succeeded",
  failed: "Failed",
  waiting_approval: "Waits for approval",
};

export function resultsFromJob(job: Job | null): ResultsState {
  return {
    notify: job?.notify?.map((r) => ({ channel: r.channel, on: [...r.on] })) ?? [],
    outputOn: Boolean(job?.output),
    outputSchema: job?.output ? JSON.stringify(job.output.schema, null, 2) : EXAMPLE_SCHEMA,
    then: job?.then?.map((r) => ({ job: r.job, on: [...r.on] })) ?? [],
  };
}

/** The schema text's problem in words, or null when it is a JSON object (ajv on the Core says
 * whether it is a valid JSON Schema; this only keeps a typo from reaching it). */
export function schemaError(state: ResultsState): string | null {
  if (!state.outputOn) return null;
  try {
    const value: unknown = JSON.parse(state.outputSchema);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "A JSON Schema is a JSON object";
    return null;
  } catch (err) {
    return `Not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** A rule with no channel/job or no event says nothing: it is dropped rather than refused. */
export function resultsInput(state: ResultsState): Pick<JobInput, "notify" | "output" | "then"> {
  return {
    notify: state.notify.filter((r) => r.channel && r.on.length > 0),
    output: state.outputOn ? { schema: JSON.parse(state.outputSchema) as Record<string, unknown> } : null,
    then: state.then.filter((r) => r.job && r.on.length > 0),
  };
}
