import { describe, expect, it } from "vitest";
import { checkStructuredAnswer, compileOutputSchema, OutputSchemaError } from "./structured-output.ts";

const schema = {
  type: "object",
  properties: { healthy: { type: "boolean" }, disks: { type: "array", items: { type: "string" } } },
  required: ["healthy"],
  additionalProperties: false,
};

describe("structured output", () => {
  it("a matching answer is parsed, with or without a ```json fence", () => {
    expect(checkStructuredAnswer('{"healthy":true,"disks":["/"]}', schema)).toEqual({
      ok: true,
      result: { healthy: true, disks: ["/"] },
    });
    expect(checkStructuredAnswer('```json\n{"healthy":false}\n```', schema)).toEqual({
      ok: true,
      result: { healthy: false },
    });
  });

  it("a mismatch names what is wrong", () => {
    const missing = checkStructuredAnswer('{"disks":[]}', schema);
    expect(missing).toEqual({ ok: false, problem: 'the answer is missing the required property "healthy"' });
    const wrong = checkStructuredAnswer('{"healthy":"yes","extra":1}', schema);
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) {
      expect(wrong.problem).toContain('unexpected property "extra"');
      expect(wrong.problem).toContain("/healthy must be boolean");
    }
    const prose = checkStructuredAnswer("All disks are fine.", schema);
    expect(prose.ok).toBe(false);
    if (!prose.ok) expect(prose.problem).toMatch(/^the answer is not JSON/);
  });

  it("an invalid schema is refused with ajv's reason; draft-07 documents compile", () => {
    expect(() => compileOutputSchema({ type: "nonsense" })).toThrow(OutputSchemaError);
    expect(() => compileOutputSchema({ type: "object", required: "healthy" })).toThrow(/required/);
    expect(() =>
      compileOutputSchema({ $schema: "http://json-schema.org/draft-07/schema#", type: "object" }),
    ).not.toThrow();
  });
});
