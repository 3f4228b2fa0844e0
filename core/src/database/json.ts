import { DatabaseError } from "./errors.ts";

/** JSON columns are written only by the repositories, so a parse failure means a corrupt row. */
export function parseJson<T>(text: string | null, column: string): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (cause) {
    throw new DatabaseError("corrupt_row", `column ${column} does not hold valid JSON`, { cause });
  }
}

export function parseJsonOr<T>(text: string | null, column: string, fallback: T): T {
  return parseJson<T>(text, column) ?? fallback;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value);
}
