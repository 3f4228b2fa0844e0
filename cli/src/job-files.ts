import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { z } from "zod";
import { CliError } from "./errors.ts";
import { JobFile } from "./job-spec.ts";

export interface LoadedJob {
  job: JobFile;
  /** `file.yaml` or `file.yaml#2` (the second document), for messages. */
  where: string;
}

/** The YAML files a path names: itself, or a directory's `*.yaml`/`*.yml`, sub-directories
 * included, in name order so that an apply is the same on every machine. Hidden entries are
 * skipped (`.git`). */
export function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/i.test(entry.name)) out.push(path);
    }
  };
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new CliError("file", `${path}: no such file or directory`);
    }
    if (isDir) walk(path);
    else out.push(path);
  }
  return out;
}

/** Every job document of the files; YAML or schema problems of all of them in one error, and
 * nothing is applied when there is any. */
export function loadJobFiles(
  paths: string[],
  readStdin: () => string = () => readFileSync(0, "utf8"),
  env: Record<string, string | undefined> = process.env,
): LoadedJob[] {
  // `-f -` reads standard input (`fabricore jobs export | fabricore jobs apply -f -`).
  const files = paths.flatMap((path) => (path === "-" ? ["-"] : expandPaths([path])));
  if (files.length === 0) throw new CliError("file", `no .yaml or .yml files in ${paths.join(", ")}`);
  const jobs: LoadedJob[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const text = file === "-" ? readStdin() : readFileSync(file, "utf8");
    const result = parseJobDocuments(text, file === "-" ? "(stdin)" : file);
    jobs.push(...result.jobs);
    problems.push(...result.problems);
  }
  for (const { job, where } of jobs) {
    const name = job.webhook?.secretEnv;
    if (!job.webhook || !name) continue;
    const value = env[name];
    if (value) job.webhook = { ...job.webhook, secret: value, secretEnv: undefined };
    else problems.push(`${where}: webhook.secretEnv: ${name} is not set`);
  }
  const seen = new Map<string, string>();
  for (const { job, where } of jobs) {
    const other = seen.get(job.name);
    if (other) problems.push(`${where}: job "${job.name}" is also defined in ${other}`);
    else seen.set(job.name, where);
  }
  if (problems.length) throw new CliError("file", problems.join("\n"));
  return jobs;
}

/** One file's text: several documents allowed (`---`); empty ones are skipped. */
export function parseJobDocuments(text: string, file: string): { jobs: LoadedJob[]; problems: string[] } {
  const jobs: LoadedJob[] = [];
  const problems: string[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = list.length > 1 ? `${file}#${i + 1}` : file;
    if (doc.errors.length) {
      for (const error of doc.errors) problems.push(`${where}: ${error.message.split("\n")[0]}`);
      return;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    const parsed = JobFile.safeParse(value);
    if (parsed.success) jobs.push({ job: parsed.data, where });
    else
      for (const issue of parsed.error.issues)
        problems.push(`${where}: ${issue.path.length ? `${issue.path.join(".")}: ` : ""}${issueText(issue)}`);
  });
  return { jobs, problems };
}

function issueText(issue: z.core.$ZodIssue): string {
  if (issue.code === "unrecognized_keys")
    return `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
  return issue.message;
}
