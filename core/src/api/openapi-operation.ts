import { z } from "zod";

/** One line per route of the API (`METHOD /url` as registered): what the OpenAPI document says
 * of it beyond its request schemas. openapi.test.ts fails for a registered route missing here. */
export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tag: "auth" | "nodes" | "providers" | "secrets" | "jobs" | "runs" | "channels" | "mcp" | "webhooks" | "admin" | "ops";
  /** Success answers: a JSON schema, null for no body, or another media type. */
  responses: Record<number, z.ZodType | null | { contentType: string; schema: z.ZodType; description?: string }>;
  /** Error statuses beyond those every route of its kind has (see errorStatuses). */
  errors?: number[];
  /** A public route in Fastify's eyes that checks a bearer token itself. */
  ownBearer?: boolean;
  /** Request headers to document (validated loosely: every other header passes). */
  headers?: z.ZodType;
}

export const list = (item: z.ZodType) => z.array(item);
export const text = (description: string) => ({ contentType: "text/plain", schema: z.string(), description });

export const WebhookHeaders = z.looseObject({
  "x-hub-signature-256": z
    .string()
    .optional()
    .describe("GitHub: sha256=<hex HMAC-SHA256 of the raw body with the job's webhook secret>"),
  "x-github-event": z.string().optional().describe("GitHub's event name; `ping` is answered without a run"),
  "x-github-delivery": z.string().optional().describe("GitHub's delivery id; a redelivery starts no second run"),
  "webhook-id": z.string().optional().describe("Standard Webhooks: the message id (redelivery detection)"),
  "webhook-timestamp": z.string().optional().describe("Standard Webhooks: Unix seconds, within 5 minutes"),
  "webhook-signature": z
    .string()
    .optional()
    .describe("Standard Webhooks: v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
});
