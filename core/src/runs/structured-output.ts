import type { ErrorObject, ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { FinalCheck } from "../agent/types.ts";

/**
 * Structured output (a job's `output.schema`): the model's final answer must be JSON that matches
 * a JSON Schema. Checked with ajv (draft 2020-12; `$schema` of draft-07 documents is accepted
 * too, the keywords a job uses are the same). The schema itself is checked when the job is saved.
 */

const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: true });
const compiled = new Map<string, ValidateFunction>();
const MAX_CACHED = 200;

export class OutputSchemaError extends Error {
  readonly code = "invalid_output_schema";
}

/** Throws OutputSchemaError naming the problem when `schema` is not a usable JSON Schema. */
export function compileOutputSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = compiled.get(key);
  if (cached) return cached;
  // ajv knows draft 2020-12 by default; a draft-07 `$schema` would make it look for a meta-schema
  // it was not given, so the declaration is dropped (the keywords jobs use mean the same).
  const { $schema: _declared, ...body } = schema;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(body);
  } catch (error) {
    throw new OutputSchemaError(error instanceof Error ? error.message : String(error));
  }
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, validate);
  return validate;
}

export type OutputCheck = { ok: true; result: unknown } | { ok: false; problem: string };

/** Reads the answer as JSON (a ```json fence around it is allowed) and validates it. */
export function checkStructuredAnswer(text: string, schema: Record<string, unknown>): OutputCheck {
  const json = jsonText(text);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, problem: `the answer is not JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const validate = compileOutputSchema(schema);
  if (validate(value)) return { ok: true, result: value };
  return { ok: false, problem: describeErrors(validate.errors ?? []) };
}

/** The instruction that goes with the prompt, so the model knows the shape before it answers. */
export function outputInstruction(schema: Record<string, unknown>): string {
  return [
    "Your final answer must be ONLY a JSON value (no prose, no code fence) matching this JSON Schema:",
    JSON.stringify(schema),
  ].join("\n");
}

/** What the model is told after an answer that did not match (its one corrective turn). */
export function correctionMessage(problem: string, schema: Record<string, unknown>): string {
  return [
    `Your answer did not match the required JSON Schema: ${problem}.`,
    "Reply again with ONLY the corrected JSON value, matching this schema:",
    JSON.stringify(schema),
  ].join("\n");
}

/** The agent loop's check of a final answer: one corrective turn, then the run fails naming the
 * mismatch (the corrective turn counts against maxSteps and the token budget like any other). */
export function structuredOutputCheck(schema: Record<string, unknown>): FinalCheck {
  return {
    check: (text) => checkStructuredAnswer(text, schema),
    correction: (problem) => correctionMessage(problem, schema),
    retries: 1,
    failure: (problem) => `the answer does not match the job's output schema: ${problem}`,
    responseSchema: { name: "result", schema: withoutDeclaration(schema) },
  };
}

function jsonText(text: string): string {
  const trimmed = text.trim();
  const fence = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  return fence ? fence[1]!.trim() : trimmed;
}

function describeErrors(errors: ErrorObject[]): string {
  const parts = errors.slice(0, 5).map((e) => {
    const where = e.instancePath === "" ? "the answer" : `${e.instancePath}`;
    if (e.keyword === "additionalProperties")
      return `${where} has an unexpected property "${String(e.params.additionalProperty)}"`;
    if (e.keyword === "required")
      return `${where} is missing the required property "${String(e.params.missingProperty)}"`;
    return `${where} ${e.message ?? e.keyword}`;
  });
  return parts.join("; ") + (errors.length > 5 ? ` (and ${errors.length - 5} more)` : "");
}

/** Providers take the schema's body; a `$schema` declaration is not theirs to resolve. */
function withoutDeclaration(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _declared, ...body } = schema;
  return body;
}
