import { JobBody } from "@fabricore/core/api/schemas.ts";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { JobFile, SPEC_FIELDS } from "./job-spec.ts";

/**
 * The command line imports nothing of the Core (it is a client of the HTTP API), so its job file
 * schema is written out in job-spec.ts. Only this test reads the Core's own JobBody, so that a job
 * field added to the API is not silently left out of apply and export.
 */
const keys = (schema: z.ZodType): string[] => {
  let s: z.ZodType = schema;
  // Unwrap optional / nullable / default / pipe (refine keeps the object) down to the object.
  for (let i = 0; i < 10 && !("shape" in s); i++) {
    const inner = (s as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
    s = inner.innerType ?? inner.in ?? s;
  }
  return Object.keys((s as unknown as { shape: Record<string, unknown> }).shape).sort();
};

describe("the job file schema and the API's job body", () => {
  it("have the same fields, and apply/export compare every one", () => {
    expect(keys(JobFile)).toEqual(keys(JobBody));
    expect([...SPEC_FIELDS].sort()).toEqual(keys(JobBody));
  });

  it("have the same fields inside schedule, webhook (plus secretEnv), approval, budget and fanOut", () => {
    const file = JobFile.shape;
    const body = JobBody.shape;
    for (const field of ["schedule", "approval", "budget", "fanOut"] as const)
      expect(keys(file[field]), field).toEqual(keys(body[field]));
    expect(keys(file.webhook)).toEqual([...keys(body.webhook), "secretEnv"].sort());
  });
});
