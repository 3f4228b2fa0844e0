import { z } from "zod";
import type { ApiClient } from "../api-client.ts";
import { seg } from "../api-client.ts";
import { JobView, NodeView, RunView } from "../api-schemas.ts";
import type { Style } from "../style.ts";
import { duration, table, when } from "../table.ts";

/** Each listing returns the API's answer as it came (for `--json`) and the table a person reads. */
export interface Listing {
  json: unknown;
  text: string;
}

const statusColour = (style: Style) => (status: string) =>
  status === "online" || status === "succeeded"
    ? style.green(status)
    : status === "failed" || status === "offline" || status === "cancelled"
      ? style.red(status)
      : status === "waiting_approval"
        ? style.yellow(status)
        : status;

export async function listNodes(api: ApiClient, style: Style, selector?: string): Promise<Listing> {
  const json = await api.get(`/api/nodes${selector ? `?selector=${encodeURIComponent(selector)}` : ""}`, z.unknown());
  const nodes = z.array(NodeView).parse(json);
  const rows = nodes.map((n) => [
    n.name,
    n.status,
    `${n.version ?? ""}${n.updateAvailable ? " (update)" : ""}`,
    String(n.tools.length),
    Object.entries(n.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
    n.id,
  ]);
  const colour = statusColour(style);
  return {
    json,
    text: table(["NAME", "STATUS", "VERSION", "TOOLS", "LABELS", "ID"], rows, (c, cell) =>
      c === 1 ? colour(cell) : cell,
    ),
  };
}

export async function listJobs(api: ApiClient): Promise<Listing> {
  const json = await api.get("/api/jobs", z.unknown());
  const jobs = z.array(JobView).parse(json);
  const rows = jobs.map((j) => [
    j.name,
    j.enabled ? "yes" : "no",
    j.schedule ? `${j.schedule.cron}${j.schedule.timezone !== "UTC" ? ` ${j.schedule.timezone}` : ""}` : "",
    j.webhook ? j.webhook.slug : "",
    `${j.model.model}`,
    j.id,
  ]);
  return { json, text: table(["NAME", "ENABLED", "SCHEDULE", "WEBHOOK", "MODEL", "ID"], rows) };
}

export async function listRuns(
  api: ApiClient,
  style: Style,
  query: { job?: string; status?: string; limit?: number },
): Promise<Listing> {
  const jobs = await api.get("/api/jobs", z.array(JobView));
  const params = new URLSearchParams();
  if (query.job) params.set("jobId", (await api.get(`/api/jobs/${seg(query.job)}`, JobView)).id);
  if (query.status) params.set("status", query.status);
  if (query.limit) params.set("limit", String(query.limit));
  const json = await api.get(`/api/runs${params.size ? `?${params}` : ""}`, z.unknown());
  const runs = z.array(RunView).parse(json);
  const names = new Map(jobs.map((j) => [j.id, j.name]));
  const rows = runs.map((r) => [
    r.id,
    names.get(r.jobId) ?? r.jobId,
    r.status,
    r.trigger,
    when(r.startedAt ?? r.createdAt),
    duration(r.startedAt, r.finishedAt),
  ]);
  const colour = statusColour(style);
  return {
    json,
    text: table(["ID", "JOB", "STATUS", "TRIGGER", "STARTED", "DURATION"], rows, (c, cell) =>
      c === 2 ? colour(cell) : cell,
    ),
  };
}
