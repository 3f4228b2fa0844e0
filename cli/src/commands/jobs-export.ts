import { stringify } from "yaml";
import type { ApiClient } from "../api-client.ts";
import { CliError } from "../errors.ts";
import { fileOfSpec, specOfView } from "../job-spec.ts";
import { loadJobsAndNames } from "./name-index.ts";

/** One job file as YAML: long lines are not folded (a prompt stays as written). */
export function yamlOfFile(file: Record<string, unknown>): string {
  return stringify(file, { lineWidth: 0 });
}

/**
 * The jobs as the YAML `jobs apply` reads: one document each, references by name, fields at
 * their defaults left out. A webhook secret cannot be exported (the API never shows it): the
 * document keeps the webhook and the Core keeps its secret when the file is applied again.
 */
export async function exportJobs(
  api: ApiClient,
  name?: string,
): Promise<{ yaml: string; jobs: Record<string, unknown>[] }> {
  const { jobs, names } = await loadJobsAndNames(api);
  const selected = name === undefined ? jobs : jobs.filter((j) => j.name === name || j.id === name);
  if (name !== undefined && selected.length === 0) throw new CliError("api", `job ${name} not found`);
  const views = selected.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files = views.map((job) => fileOfSpec(specOfView(job, names).spec));
  const docs = files.map((file, i) => {
    const text = yamlOfFile(file);
    return views[i]!.webhook?.hasSecret ? `# webhook secret: set on the Core, not exported\n${text}` : text;
  });
  return { yaml: docs.join("---\n"), jobs: files };
}
