import { z } from "zod";
import type { Connection } from "./config.ts";
import { CliError } from "./errors.ts";

/** The API's error body (CONTRACT "HTTP API"). */
const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/** The HTTP API, and nothing else of the Core: every answer is checked with the caller's schema. */
export class ApiClient {
  readonly url: string;
  private readonly token: string;

  constructor(connection: Connection) {
    this.url = connection.url;
    this.token = connection.token;
  }

  async get<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.call("GET", path, schema);
  }

  async send<T>(method: "POST" | "PATCH" | "DELETE", path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    return this.call(method, path, schema, body);
  }

  /** The raw answer, for the event stream; errors are thrown as for JSON calls. */
  async open(path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    const res = await this.fetch("GET", path, undefined, headers, signal);
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  private async call<T>(method: string, path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    if (!res.ok) throw await errorOf(res);
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError("api", `${method} ${path}: the Core answered ${res.status} with something that is not JSON`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new CliError("api", `${method} ${path}: unexpected answer from the Core: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  private async fetch(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: "application/json",
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        body: body !== undefined ? JSON.stringify(body) : undefined,
        signal,
      });
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
      const text = `${String(error)}${cause}`;
      // A Core with its own CA (FABRICORE_TLS_CERT): the runtime reads extra roots from this variable.
      const hint = /certificate/i.test(text) ? "; for a Core's own CA set NODE_EXTRA_CA_CERTS=<ca.pem>" : "";
      throw new CliError("network", `cannot reach the Core at ${this.url} (${text})${hint}`);
    }
  }
}

/** The API's own `error.message` when the body has one; else the status line. */
export async function errorOf(res: Response): Promise<CliError> {
  const text = await res.text().catch(() => "");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {}
  const parsed = ErrorBody.safeParse(json);
  if (parsed.success)
    return new CliError("api", parsed.data.error.message, { status: res.status, apiCode: parsed.data.error.code });
  return new CliError("api", `the Core answered ${res.status} ${res.statusText}`.trim(), { status: res.status });
}

/** Path segment for an id or a name (job names may hold spaces). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
