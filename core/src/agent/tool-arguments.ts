/**
 * Checks a model's tool arguments before they travel to a Node, so the common mistakes (broken
 * JSON, a missing required key, a number where a string belongs) go straight back to the model as a
 * tool error it can fix. Only the top level of the schema is checked; the Node validates fully.
 */
export type ParsedArguments = { ok: true; args: Record<string, unknown> } | { ok: false; error: string; raw: string };

export function parseToolArguments(raw: string, schema: object): ParsedArguments {
  const text = raw.trim();
  let value: unknown = {};
  if (text !== "") {
    try {
      value = JSON.parse(text);
    } catch (err) {
      return {
        ok: false,
        raw,
        error: `The arguments are not valid JSON (${(err as Error).message}). Call the tool again with a JSON object matching its input schema.`,
      };
    }
  }
  // Some models encode the arguments object a second time, as a JSON string.
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      // Leave it: reported as "not an object" below.
    }
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      ok: false,
      raw,
      error: "The arguments must be a JSON object (name → value), matching the tool's input schema.",
    };
  }
  const args = value as Record<string, unknown>;
  const problems = checkTopLevel(args, schema as JsonSchemaLike);
  if (problems.length > 0) {
    return {
      ok: false,
      raw,
      error: `Invalid arguments: ${problems.join("; ")}. Call the tool again with corrected arguments.`,
    };
  }
  return { ok: true, args };
}

interface JsonSchemaLike {
  properties?: Record<string, { type?: string | string[] } | boolean>;
  required?: string[];
  additionalProperties?: unknown;
}

function checkTopLevel(args: Record<string, unknown>, schema: JsonSchemaLike): string[] {
  const problems: string[] = [];
  const properties = schema.properties && typeof schema.properties === "object" ? schema.properties : {};
  const missing = (Array.isArray(schema.required) ? schema.required : []).filter((k) => args[k] === undefined);
  if (missing.length) problems.push(`missing required ${missing.map((k) => `"${k}"`).join(", ")}`);
  for (const [key, value] of Object.entries(args)) {
    const prop = properties[key];
    if (prop === undefined) {
      if (schema.additionalProperties === false) {
        const known = Object.keys(properties);
        problems.push(`unknown argument "${key}"${known.length ? ` (expected: ${known.join(", ")})` : ""}`);
      }
      continue;
    }
    if (typeof prop !== "object" || prop.type === undefined) continue;
    const types = Array.isArray(prop.type) ? prop.type : [prop.type];
    if (!types.some((t) => matchesType(value, t)))
      problems.push(`"${key}" must be ${types.join(" or ")}, got ${describe(value)}`);
  }
  return problems;
}

function matchesType(value: unknown, type: string): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "boolean":
      return typeof value === "boolean";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    case "null":
      return value === null;
    default:
      return true;
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return `a ${typeof value}`;
}
