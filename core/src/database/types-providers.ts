import type { ProviderKind } from "./schema.ts";

/* Model providers (their key and headers sealed, never here) and the secrets list.
 * Imported through types.ts, which re-exports every one. */

/** A secret as listed: never its value. */
export interface SecretInfo {
  name: string;
  createdAt: string;
  updatedAt: string;
}

export type ProviderOptions = Record<string, unknown>;

export interface Provider {
  id: string;
  name: string;
  kind: ProviderKind;
  baseUrl: string | null;
  hasApiKey: boolean;
  /** Never holds `headers`: their values are sealed (issue 21.1); their names are in `headers`. */
  options: ProviderOptions;
  /** The custom headers sent on every request, by name only: values are never returned. */
  headers: Array<{ name: string; hasValue: boolean }>;
  createdAt: string;
}

export interface NewProvider {
  name: string;
  kind: ProviderKind;
  baseUrl?: string | null;
  /** Plain text; sealed before it reaches the database. */
  apiKey?: string | null;
  options?: ProviderOptions;
  /** Plain text; sealed before it reaches the database. */
  headers?: Record<string, string>;
}

/** `apiKey`: undefined keeps the stored key, null removes it, a string replaces it. `headers`:
 * undefined keeps the stored ones, an object replaces them all ({} removes them). */
export interface ProviderPatch {
  name?: string;
  kind?: ProviderKind;
  baseUrl?: string | null;
  apiKey?: string | null;
  options?: ProviderOptions;
  headers?: Record<string, string>;
}
