// biome-ignore-all lint/suspicious/noThenProperty: a job's `then` (CONTRACT "Chaining") is an array, never a function
import { describe, expect, it } from "vitest";
import type { Job } from "../../api/types.ts";
import { resultsFromJob, resultsInput, schemaError } from "./results-model.ts";

describe("results model", () => {
  it("round-trips a job's notify, output and then", () => {
    const job = {
      notify: [{ channel: "ops", on: ["failed"] }],
      output: { schema: { type: "object" } },
      then: [{ job: "report", on: ["succeeded"] }],
    } as unknown as Job;
    expect(resultsInput(resultsFromJob(job))).toEqual({
      notify: [{ channel: "ops", on: ["failed"] }],
      output: { schema: { type: "object" } },
      then: [{ job: "report", on: ["succeeded"] }],
    });
  });
  it("drops half-filled rules and clears output when off", () => {
    const state = { ...resultsFromJob(null), notify: [{ channel: "", on: ["failed" as const] }], outputOn: false };
    expect(resultsInput(state)).toEqual({ notify: [], output: null, then: [] });
  });
  it("names a schema that is not a JSON object", () => {
    const base = { ...resultsFromJob(null), outputOn: true };
    expect(schemaError({ ...base, outputSchema: "{" })).toMatch(/^Not JSON/);
    expect(schemaError({ ...base, outputSchema: "[1]" })).toBe("A JSON Schema is a JSON object");
    expect(schemaError(base)).toBeNull();
  });
});
