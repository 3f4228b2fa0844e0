import { z } from "zod";
import type { ApiClient } from "../api-client.ts";
import { JobView, Named } from "../api-schemas.ts";
import type { NameIndex } from "../job-spec.ts";

/** The jobs, and the id → name maps of everything a job refers to, in four parallel calls. */
export async function loadJobsAndNames(api: ApiClient): Promise<{ jobs: JobView[]; names: NameIndex }> {
  const list = z.array(Named);
  const [jobs, nodes, providers, channels] = await Promise.all([
    api.get("/api/jobs", z.array(JobView)),
    api.get("/api/nodes", list),
    api.get("/api/providers", list),
    api.get("/api/channels", list),
  ]);
  const map = (items: { id: string; name: string }[]) => new Map(items.map((i) => [i.id, i.name]));
  return { jobs, names: { nodes: map(nodes), providers: map(providers), channels: map(channels), jobs: map(jobs) } };
}
