import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "./errors.ts";
import { expandPaths, loadJobFiles, parseJobDocuments } from "./job-files.ts";

const job = (name: string) =>
  `name: ${name}\nprompt: Do it.\nmodel: {provider: LM Studio, model: qwen}\nnodes: [web-1]\n`;

describe("job files", () => {
  it("reads several documents of one file and skips empty ones", () => {
    const { jobs, problems } = parseJobDocuments(`${job("a")}---\n---\n${job("b")}`, "jobs.yaml");
    expect(problems).toEqual([]);
    expect(jobs.map((j) => [j.job.name, j.where])).toEqual([
      ["a", "jobs.yaml#1"],
      ["b", "jobs.yaml#3"],
    ]);
  });

  it("names the file, the document and the field of each problem", () => {
    const { problems } = parseJobDocuments(
      `${job("a")}---\nname: b\nprompt: 3\nmodel: {provider: p}\nextra: 1\n`,
      "j.yaml",
    );
    expect(problems).toEqual([
      "j.yaml#2: prompt: Invalid input: expected string, received number",
      "j.yaml#2: model.model: Invalid input: expected string, received undefined",
      "j.yaml#2: unknown field extra",
    ]);
    expect(parseJobDocuments("name: [unclosed\n", "bad.yaml").problems[0]).toMatch(/^bad\.yaml: /);
  });

  it("walks a directory in name order, YAML files only, hidden entries skipped", () => {
    const dir = mkdtempSync(join(tmpdir(), "fabricore-cli-"));
    mkdirSync(join(dir, "sub"));
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, "b.yaml"), job("b"));
    writeFileSync(join(dir, "a.yml"), job("a"));
    writeFileSync(join(dir, "sub", "c.yaml"), job("c"));
    writeFileSync(join(dir, ".git", "d.yaml"), job("d"));
    writeFileSync(join(dir, "README.md"), "not a job");
    expect(expandPaths([dir]).map((p) => p.slice(dir.length + 1))).toEqual(["a.yml", "b.yaml", "sub/c.yaml"]);
    expect(loadJobFiles([dir]).map((j) => j.job.name)).toEqual(["a", "b", "c"]);
  });

  it("reads standard input for -f -", () => {
    expect(loadJobFiles(["-"], () => `${job("x")}---\n${job("y")}`).map((j) => j.where)).toEqual([
      "(stdin)#1",
      "(stdin)#2",
    ]);
  });

  it("takes a webhook secret from the environment variable secretEnv names, and refuses one unset", () => {
    const file = `${job("hook")}webhook: {slug: deploy, secretEnv: DEPLOY_SECRET}\n`;
    const [loaded] = loadJobFiles(["-"], () => file, { DEPLOY_SECRET: "from-the-env-1" });
    expect(loaded!.job.webhook).toEqual({ slug: "deploy", secret: "from-the-env-1" });
    expect(() => loadJobFiles(["-"], () => file, {})).toThrow("(stdin): webhook.secretEnv: DEPLOY_SECRET is not set");
    const both = `${job("hook")}webhook: {slug: deploy, secret: s3cret-value, secretEnv: X}\n`;
    expect(() => loadJobFiles(["-"], () => both, { X: "y" })).toThrow("give secret or secretEnv, not both");
  });

  it("refuses the same job name twice, a missing path and a directory without YAML", () => {
    const dir = mkdtempSync(join(tmpdir(), "fabricore-cli-"));
    writeFileSync(join(dir, "one.yaml"), job("same"));
    writeFileSync(join(dir, "two.yaml"), job("same"));
    expect(() => loadJobFiles([dir])).toThrow(/job "same" is also defined in .*one\.yaml/);
    expect(() => loadJobFiles([join(dir, "nope.yaml")])).toThrow(CliError);
    const empty = mkdtempSync(join(tmpdir(), "fabricore-cli-"));
    expect(() => loadJobFiles([empty])).toThrow(/no \.yaml or \.yml files/);
  });
});
