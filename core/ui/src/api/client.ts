/** A small typed fetch wrapper for the Core's API. Every failure becomes an ApiError carrying the
 * Core's `{"error":{"code","message"}}`, so screens can show the server's own words. */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler = () => {};

/** The app registers how to get back to the login page; the client stays free of routing. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler): void {
  onUnauthorized = handler;
}

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** The login call answers 401 for a wrong password; that must not bounce to the login page. */
  skipUnauthorizedRedirect?: boolean;
}

function isErrorBody(value: unknown): value is { error: { code: string; message: string; details?: unknown } } {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const error = (value as { error: unknown }).error;
  return typeof error === "object" && error !== null && "message" in error;
}

export async function apiRequest<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  // The Core accepts cookie-authenticated mutations only with a custom header, which a cross-site
  // form or image cannot send: that is the CSRF defence, so every non-GET request carries it.
  if (method !== "GET") headers["X-FabriCore-CSRF"] = "1";
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", signal: options.signal });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The Core could not be reached. Is it running?");
  }

  const text = await response.text();
  let parsed: unknown;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
  }

  if (!response.ok) {
    if (response.status === 401 && !options.skipUnauthorizedRedirect) onUnauthorized();
    if (isErrorBody(parsed)) {
      throw new ApiError(response.status, parsed.error.code, parsed.error.message, parsed.error.details);
    }
    throw new ApiError(response.status, `http_${response.status}`, `${response.status} ${response.statusText}`.trim());
  }
  return parsed as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => apiRequest<T>("GET", path, { signal }),
  post: <T>(path: string, body?: unknown) => apiRequest<T>("POST", path, { body: body ?? {} }),
  patch: <T>(path: string, body: unknown) => apiRequest<T>("PATCH", path, { body }),
  delete: <T = void>(path: string) => apiRequest<T>("DELETE", path),
};

/** Lists may come bare or wrapped (`{items}`); accept both so a paging envelope added later does
 * not break the screens. */
export function asList<T>(value: unknown): T[] {
  if (Array.isArray(value)) return value as T[];
  if (typeof value === "object" && value !== null) {
    for (const key of ["items", "data", "results"]) {
      const inner = (value as Record<string, unknown>)[key];
      if (Array.isArray(inner)) return inner as T[];
    }
  }
  return [];
}

/** "body.maxSteps" → "Max steps", "body.fallbacks.0.model" → "Fallbacks 1 model": a field named
 * as a person reads it (issue 22.6), not as the schema path. */
export function fieldLabel(path: string): string {
  const words = path
    .replace(/^(body|querystring|params)\.?/, "")
    .split(".")
    .map((part) => (/^\d+$/.test(part) ? String(Number(part) + 1) : part.replace(/([a-z])([A-Z])/g, "$1 $2")))
    .join(" ")
    .toLowerCase()
    .trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : "The request";
}

/** The Core's validation answer, field by field (`{name: "letters, digits…"}`), keyed by the field's
 * path without `body.`; {} for any other error. */
export function fieldErrors(error: unknown): Record<string, string> {
  // A conflict names its field the same way (a taken name, a webhook slug in use).
  if (!(error instanceof ApiError) || (error.code !== "validation_failed" && error.code !== "conflict")) return {};
  const out: Record<string, string> = {};
  const details = error.details;
  if (Array.isArray(details)) {
    for (const d of details as Array<{ path?: unknown; message?: unknown }>) {
      if (typeof d.path === "string" && typeof d.message === "string")
        out[d.path.replace(/^(body|querystring|params)\.?/, "")] ??= d.message;
    }
  } else if (typeof details === "object" && details !== null) {
    const fields = (details as { fields?: unknown }).fields;
    if (typeof fields === "object" && fields !== null) Object.assign(out, fields);
  }
  return out;
}

export function errorMessage(error: unknown): string {
  // A validation failure in plain words: "Name: letters, digits…", not "body.name: letters, digits…".
  if (error instanceof ApiError && error.code === "validation_failed" && Array.isArray(error.details)) {
    const parts = (error.details as Array<{ path?: unknown; message?: unknown }>).flatMap((d) =>
      typeof d.path === "string" && typeof d.message === "string" ? [`${fieldLabel(d.path)}: ${d.message}`] : [],
    );
    if (parts.length) return parts.join("; ");
  }
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export const enc = encodeURIComponent;
