import { z } from "zod";
import { list, type Operation, WebhookHeaders } from "./openapi-operation.ts";
import * as R from "./responses.ts";

/** Jobs, their runs (start, follow, cancel, approve) and the webhooks that start them. */
export const JOB_OPERATIONS: Record<string, Operation> = {
  "POST /api/jobs": {
    operationId: "createJob",
    summary: "Create a job",
    tag: "jobs",
    responses: { 201: R.Job },
    errors: [409],
  },
  "GET /api/jobs": { operationId: "listJobs", summary: "Every job", tag: "jobs", responses: { 200: list(R.Job) } },
  "GET /api/jobs/:id": {
    operationId: "getJob",
    summary: "One job (by id or name)",
    tag: "jobs",
    responses: { 200: R.Job },
  },
  "PATCH /api/jobs/:id": {
    operationId: "updateJob",
    summary: "Change a job",
    tag: "jobs",
    responses: { 200: R.Job },
    errors: [409],
  },
  "DELETE /api/jobs/:id": { operationId: "deleteJob", summary: "Delete a job", tag: "jobs", responses: { 200: R.Ok } },
  "POST /api/jobs/:id/run": {
    operationId: "runJob",
    summary: "Start a run now (the body may be left out)",
    tag: "jobs",
    responses: { 202: R.RunStarted },
    errors: [409],
  },
  "POST /api/cron/preview": {
    operationId: "previewCron",
    summary: "A cron expression in words and its next five fire times",
    tag: "jobs",
    responses: { 200: R.CronPreview },
  },

  "GET /api/runs": {
    operationId: "listRuns",
    summary: "Runs, newest first",
    tag: "runs",
    responses: { 200: list(R.Run) },
  },
  "GET /api/runs/stats": {
    operationId: "getRunStats",
    summary: "Runs per UTC day (counts by outcome, mean duration, tokens) for the last N days",
    description: "Top-level runs only (a fan-out's children are part of their parent's run).",
    tag: "runs",
    responses: { 200: R.RunStats },
  },
  "GET /api/runs/:id": {
    operationId: "getRun",
    summary: "One run with its steps",
    tag: "runs",
    responses: { 200: R.RunView },
  },
  "POST /api/runs/:id/cancel": {
    operationId: "cancelRun",
    summary: "Stop a run",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "POST /api/runs/:id/approve": {
    operationId: "approveRun",
    summary: "Approve the tool call the run waits on",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "POST /api/runs/:id/deny": {
    operationId: "denyRun",
    summary: "Deny the tool call the run waits on",
    tag: "runs",
    responses: { 200: R.Run },
    errors: [409],
  },
  "GET /api/runs/:id/events": {
    operationId: "streamRunEvents",
    summary: "Server-Sent Events of the run (step, delta, model, model_status, tool, status, done)",
    tag: "runs",
    responses: {
      200: {
        contentType: "text/event-stream",
        schema: z.string(),
        description: "`id:` of a step event is its seq; send Last-Event-ID to resume",
      },
    },
    // FABRICORE_SSE_STREAMS_PER_USER open streams per user (issue 21.10).
    errors: [429],
  },

  "POST /api/webhook/:slug": {
    operationId: "deliverWebhook",
    summary: "Start the job whose webhook has this slug",
    description:
      "Any body (JSON, or form-encoded with a `payload` field). With a webhook secret the raw body must be signed the GitHub way (X-Hub-Signature-256) or the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature), else 401 and no run.",
    tag: "webhooks",
    responses: { 200: R.WebhookAnswer, 202: R.RunStarted },
    errors: [401, 409, 413, 429, 503],
    headers: WebhookHeaders,
  },
};
