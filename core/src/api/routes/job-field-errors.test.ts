import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/**
 * Issue 22.6: a job the Core refuses says which field is wrong, each problem in `details` as
 * `{path: "body.<field>", message}` (what a schema failure already gave), so the form puts the
 * words at the field: the schema's checks, the service's own (prompt placeholders, cron,
 * providers) and the conflicts (a taken name, a webhook slug in use).
 */

let t: TestCore;
let admin: string;
const job = (extra: Record<string, unknown> = {}) => ({
  name: "disk-report",
  prompt: "Check the disks.",
  model: { provider: "p1", model: "m" },
  ...extra,
});

beforeAll(async () => {
  t = await startTestCore();
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9/v1" });
});

afterAll(async () => {
  await t?.close();
});

describe("job errors name their fields (issue 22.6)", () => {
  it("the schema's check: the name", async () => {
    const res = await t.api(admin, "POST", "/api/jobs", job({ name: "disk/report" }));
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: "body.name", message: "letters, digits, space, _ . - (max 100)" }]);
  });

  it("the Core's checks: every problem with its own field, the message as before", async () => {
    const res = await t.api(
      admin,
      "POST",
      "/api/jobs",
      job({
        prompt: "Report {{nonsense.x}}",
        model: { provider: "nope", model: "m" },
        schedule: { cron: "61 * * * *" },
      }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    const paths = res.body.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(["body.prompt", "body.model.provider", "body.schedule.cron"]);
    expect(res.body.error.details[1].message).toBe("no provider nope");
    expect(res.body.error.message).toContain("model.provider: no provider nope");
    expect(res.body.error.message).toContain("prompt: {{nonsense.x}} refers to an unknown root");
  });

  it("conflicts: a taken name, a webhook slug in use", async () => {
    expect(
      (await t.api(admin, "POST", "/api/jobs", job({ webhook: { slug: "disks", secret: "s3cret-value" } }))).status,
    ).toBe(201);
    const name = await t.api(admin, "POST", "/api/jobs", job());
    expect(name.status).toBe(409);
    expect(name.body.error).toMatchObject({
      message: "a job named disk-report exists",
      details: [{ path: "body.name", message: "another job has this name" }],
    });
    const slug = await t.api(
      admin,
      "POST",
      "/api/jobs",
      job({ name: "other", webhook: { slug: "disks", secret: "s3cret-value" } }),
    );
    expect(slug.status).toBe(409);
    expect(slug.body.error.details).toEqual([{ path: "body.webhook.slug", message: "used by job disk-report" }]);
  });
});
