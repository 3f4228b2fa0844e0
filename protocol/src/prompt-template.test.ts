import { describe, expect, it } from "vitest";
import { checkTemplate, MAX_VALUE_CHARS, renderTemplate, type TemplateContext } from "./prompt-template.ts";

const ctx: TemplateContext = {
  input: { repository: { full_name: "octo/hello" }, commits: [{ id: "abc" }], n: 3, ok: false, nil: null },
  webhook: { event: "push", deliveryId: "d-1" },
  job: { id: "j1", name: "deploy" },
  run: { id: "r1", trigger: "webhook" },
};

describe("prompt templates", () => {
  it("fills input paths, array indexes, webhook, job and run fields", () => {
    const out = renderTemplate(
      "{{job.name}} {{ run.id }} {{run.trigger}} {{webhook.event}}/{{webhook.deliveryId}} {{input.repository.full_name}} {{input.commits.0.id}} {{input.n}} {{input.ok}}",
      ctx,
    );
    expect(out).toBe("deploy r1 webhook push/d-1 octo/hello abc 3 false");
  });

  it("a missing value is the empty string (missing key, null, no webhook, no input)", () => {
    expect(renderTemplate("[{{input.nope.deeper}}][{{input.nil}}]", ctx)).toBe("[][]");
    expect(renderTemplate("[{{webhook.event}}][{{input.x}}]", { ...ctx, webhook: null, input: null })).toBe("[][]");
    expect(renderTemplate("[{{input.constructor}}][{{input.__proto__}}]", ctx)).toBe("[][]");
  });

  it("objects and arrays go in as JSON; long values are cut", () => {
    expect(renderTemplate("{{input.commits}}", ctx)).toBe('[{"id":"abc"}]');
    const long = renderTemplate("{{input.s}}", { ...ctx, input: { s: "x".repeat(MAX_VALUE_CHARS + 10) } });
    expect(long).toBe(`${"x".repeat(MAX_VALUE_CHARS)}…(cut)`);
  });

  it("text that is not a placeholder stays", () => {
    expect(renderTemplate("a {{ }} b {{ c", ctx)).toBe("a {{ }} b {{ c");
  });

  it("checkTemplate names unknown roots and unknown fields, accepts any input path", () => {
    expect(checkTemplate("{{input.a.b}} {{job.name}} {{run.id}} {{webhook.event}}")).toEqual([]);
    const problems = checkTemplate("{{inptu.a}} {{job.owner}} {{run}} {{webhook.event.x}}");
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/unknown root "inptu"/);
    expect(problems[1]).toMatch(/job has the fields job.id, job.name/);
  });
});
