import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { JobView } from "./api-schemas.ts";
import { yamlOfFile } from "./commands/jobs-export.ts";
import {
  bodyOfSpec,
  canonical,
  diffSpecs,
  fileOfSpec,
  JobFile,
  type NameIndex,
  specOfFile,
  specOfView,
} from "./job-spec.ts";

const names: NameIndex = {
  nodes: new Map([["nod_1", "web-1"]]),
  providers: new Map([["prv_1", "LM Studio"]]),
  channels: new Map([["chn_1", "ops"]]),
  jobs: new Map([
    ["job_1", "disk-report"],
    ["job_2", "cleanup"],
  ]),
};

/** What GET /api/jobs answers for a job made from a minimal file (ids where the Core stores ids). */
function view(overrides: Record<string, unknown> = {}) {
  return JobView.parse({
    id: "job_1",
    name: "disk-report",
    prompt: "Check the disks.",
    model: { provider: "prv_1", model: "qwen" },
    fallbacks: [],
    nodes: ["nod_1"],
    tools: [],
    schedule: null,
    webhook: null,
    maxSteps: 20,
    enabled: true,
    approval: null,
    budget: { maxTokens: 1_000_000, maxSeconds: 3600 },
    output: null,
    // biome-ignore lint/suspicious/noThenProperty: the job field CONTRACT names `then`, an array
    then: [],
    selector: null,
    fanOut: null,
    notify: [],
    createdAt: "2026-12-07T00:00:00.000Z",
    updatedAt: "2026-12-07T00:00:00.000Z",
    ...overrides,
  });
}

const minimal = JobFile.parse({
  name: "disk-report",
  prompt: "Check the disks.",
  model: { provider: "LM Studio", model: "qwen" },
  nodes: ["web-1"],
});

describe("job specs", () => {
  it("a minimal file equals the Core's job with every default", () => {
    expect(diffSpecs(specOfFile(minimal, names), specOfView(view(), names))).toEqual([]);
  });

  it("references by id and by name are the same job", () => {
    const byId = JobFile.parse({ ...minimal, nodes: ["nod_1"], model: { provider: "prv_1", model: "qwen" } });
    expect(diffSpecs(specOfFile(byId, names), specOfView(view(), names))).toEqual([]);
  });

  it("names every field that differs, and a field left out of the file goes back to its default", () => {
    const current = specOfView(
      view({ schedule: { cron: "0 8 * * *", timezone: "UTC", nextRuns: [] }, maxSteps: 5, prompt: "old" }),
      names,
    );
    expect(diffSpecs(specOfFile(minimal, names), current)).toEqual(["prompt", "schedule", "maxSteps"]);
  });

  it("compares objects whatever their key order", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
    const reordered = { required: ["a"], properties: { a: { type: "string" } }, type: "object" };
    const file = JobFile.parse({ ...minimal, output: { schema: reordered } });
    expect(diffSpecs(specOfFile(file, names), specOfView(view({ output: { schema } }), names))).toEqual([]);
    expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
  });

  it("a webhook secret counts only by its presence (the API never shows it)", () => {
    const withSecret = JobFile.parse({ ...minimal, webhook: { slug: "deploy", secret: "s3cret-value" } });
    const hasNone = specOfView(view({ webhook: { slug: "deploy", hasSecret: false, public: false } }), names);
    const hasOne = specOfView(view({ webhook: { slug: "deploy", hasSecret: true, public: false } }), names);
    expect(diffSpecs(specOfFile(withSecret, names), hasNone)).toEqual(["webhook"]);
    expect(diffSpecs(specOfFile(withSecret, names), hasOne)).toEqual([]);
    // No secret in the file: the Core keeps its own (the PATCH body has none).
    const noSecret = specOfFile(JobFile.parse({ ...minimal, webhook: { slug: "deploy" } }), names);
    expect(diffSpecs(noSecret, hasOne)).toEqual([]);
    expect(bodyOfSpec(noSecret.spec, noSecret.webhookSecret).webhook).toEqual({ slug: "deploy", public: false });
    expect(bodyOfSpec(noSecret.spec, "s3cret-value").webhook).toEqual({
      slug: "deploy",
      public: false,
      secret: "s3cret-value",
    });
  });

  it("export → file → spec is the identity, defaults left out of the file", () => {
    const rich = view({
      fallbacks: [{ provider: "prv_1", model: "small" }],
      tools: ["read_file"],
      schedule: { cron: "0 8 * * *", timezone: "Europe/Berlin", misfire: "skip", nextRuns: [], description: "x" },
      webhook: { slug: "deploy", hasSecret: true, public: false },
      maxSteps: 7,
      enabled: false,
      approval: { tools: ["exec_command"] },
      budget: { maxTokens: 5000, maxSeconds: 3600 },
      output: { schema: { type: "object" } },
      // biome-ignore lint/suspicious/noThenProperty: the job field CONTRACT names `then`, an array
      then: [{ job: "job_2", on: ["succeeded"] }],
      selector: "env=prod",
      fanOut: { mode: "each", concurrency: 10, stopOnFailure: true, summarize: false },
      notify: [{ channel: "chn_1", on: ["failed"] }],
    });
    const current = specOfView(rich, names);
    const file = fileOfSpec(current.spec);
    expect(file.budget).toEqual({ maxTokens: 5000 });
    expect(file.fanOut).toEqual({ mode: "each", stopOnFailure: true });
    expect(file.then).toEqual([{ job: "cleanup" }]);
    expect(file.nodes).toEqual(["web-1"]);
    const reread = specOfFile(JobFile.parse(file), names);
    expect(diffSpecs(reread, current)).toEqual([]);
    expect(reread.spec).toEqual(current.spec);

    const bare = fileOfSpec(specOfView(view(), names).spec);
    expect(Object.keys(bare)).toEqual(["name", "prompt", "model", "nodes"]);
  });

  it("prompts of every awkward kind survive export → YAML → file unchanged", () => {
    const prompts = [
      "line one\nline two\n",
      "no newline\nat the end",
      "  leading spaces\n",
      "a: b # not a comment",
      "*not an alias",
      "yes",
      "123",
      "trailing blank lines\n\n",
      "{{input.a}} for {{job.name}}",
      "tab\tinside, ünïcode → ✓",
      "---",
    ];
    for (const prompt of prompts) {
      const current = specOfView(view({ prompt }), names);
      const reread = specOfFile(JobFile.parse(parse(yamlOfFile(fileOfSpec(current.spec)))), names);
      expect(diffSpecs(reread, current), JSON.stringify(prompt)).toEqual([]);
    }
  });

  it("refuses a misspelt field instead of dropping it", () => {
    const parsed = JobFile.safeParse(parse("name: a\npromt: hi\nprompt: hi\nmodel: {provider: p, model: m}\n"));
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toContain("promt");
  });
});
