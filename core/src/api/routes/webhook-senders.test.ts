import { randomBytes, randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** CONTRACT "Webhooks as senders make them", proven with GitHub's own example payloads signed by
 * GitHub's own signing code (@octokit/webhooks-methods), and with the Standard Webhooks reference
 * library as the sender; issue 21 items 2 and 5. */

type Example = { name: string; examples: Array<Record<string, unknown>> };
const examples = createRequire(import.meta.url)("@octokit/webhooks-examples") as Example[];
const exampleOf = (name: string) => examples.find((e) => e.name === name)!.examples;

const SECRET = `gh-${randomBytes(12).toString("hex")}`;
const WHSEC = `whsec_${randomBytes(24).toString("base64")}`;

let t: TestCore;
let admin: string;
const jobIds: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestCore();
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
  for (const [slug, webhook] of [
    ["gh", { secret: SECRET }],
    ["std", { secret: WHSEC }],
    ["pub", { public: true }],
  ] as const) {
    const res = await t.api(admin, "POST", "/api/jobs", {
      name: `senders-${slug}`,
      prompt: "react to {{webhook.event}}",
      model: { provider: "p1", model: "m" },
      webhook: { slug, ...webhook },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    jobIds[slug] = res.body.id;
  }
});

afterAll(async () => {
  await t?.close();
});

const runCount = async (slug: string) =>
  (await t.api(admin, "GET", `/api/runs?jobId=${jobIds[slug]}&limit=500`)).body.length as number;

async function github(
  slug: string,
  event: string,
  body: string,
  opts: { delivery?: string | null; contentType?: string } = {},
) {
  const delivery = opts.delivery === undefined ? randomUUID() : opts.delivery;
  return t.core.app.inject({
    method: "POST",
    url: `/api/webhook/${slug}`,
    headers: {
      "content-type": opts.contentType ?? "application/json",
      "x-github-event": event,
      ...(delivery === null ? {} : { "x-github-delivery": delivery }),
      "x-hub-signature-256": await sign(SECRET, body),
      "user-agent": "GitHub-Hookshot/test",
    },
    payload: body,
  });
}

describe("webhooks as GitHub sends them (@octokit/webhooks-examples, signed by @octokit/webhooks-methods)", () => {
  it("push, as JSON and form-encoded, gives the same run input and records event and delivery id", async () => {
    for (const example of exampleOf("push").slice(0, 3)) {
      const json = JSON.stringify(example);
      const asJson = await github("gh", "push", json, { delivery: `json-${randomUUID()}` });
      expect(asJson.statusCode, asJson.body).toBe(202);
      const form = `payload=${encodeURIComponent(json)}`;
      const delivery = `form-${randomUUID()}`;
      const asForm = await github("gh", "push", form, {
        delivery,
        contentType: "application/x-www-form-urlencoded",
      });
      expect(asForm.statusCode, asForm.body).toBe(202);
      const a = await t.api(admin, "GET", `/api/runs/${asJson.json().runId}`);
      const b = await t.api(admin, "GET", `/api/runs/${asForm.json().runId}`);
      expect(a.body.input).toEqual(example);
      expect(b.body.input).toEqual(example);
      expect(b.body).toMatchObject({ trigger: "webhook", webhook: { event: "push", deliveryId: delivery } });
    }
  });

  it("ping answers 200 and starts nothing", async () => {
    const before = await runCount("gh");
    for (const example of exampleOf("ping")) {
      const res = await github("gh", "ping", JSON.stringify(example));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true, ping: true });
    }
    expect(await runCount("gh")).toBe(before);
  });

  it("a redelivery (same X-GitHub-Delivery) answers 200 with the first run and runs nothing", async () => {
    const body = JSON.stringify(exampleOf("issues")[0]);
    const delivery = randomUUID();
    const first = await github("gh", "issues", body, { delivery });
    expect(first.statusCode).toBe(202);
    const before = await runCount("gh");
    const again = await github("gh", "issues", body, { delivery });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ runId: first.json().runId, duplicate: true });
    expect(await runCount("gh")).toBe(before);
  });

  it("21.5: the same signed body under a new delivery id, or none, is a redelivery too (no new run)", async () => {
    const body = JSON.stringify(exampleOf("release")[0]);
    const first = await github("gh", "release", body);
    expect(first.statusCode).toBe(202);
    const before = await runCount("gh");
    for (const delivery of [randomUUID(), randomUUID(), null]) {
      const replay = await github("gh", "release", body, { delivery });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toEqual({ runId: first.json().runId, duplicate: true });
    }
    expect(await runCount("gh")).toBe(before);
    const audit = await t.api(admin, "GET", "/api/audit?action=webhook.replay&limit=10");
    expect(audit.body.length).toBeGreaterThanOrEqual(3);
  });

  it("a form body whose payload is not JSON is 400 and burns no delivery id", async () => {
    const delivery = randomUUID();
    const bad = await github("gh", "push", "payload=%7Bnot-json", {
      delivery,
      contentType: "application/x-www-form-urlencoded",
    });
    expect(bad.statusCode).toBe(400);
    const good = await github("gh", "push", JSON.stringify({ ref: "refs/heads/x" }), { delivery });
    expect(good.statusCode).toBe(202);
  });
});

describe("Standard Webhooks (the standardwebhooks reference library as sender)", () => {
  it("signed by the library → a run with webhook-id; the same id again → 200 duplicate", async () => {
    const sender = new Webhook(WHSEC);
    const body = JSON.stringify({ type: "order.paid", data: { id: 7 } });
    const id = `msg_${randomBytes(8).toString("hex")}`;
    const send = () => {
      const now = new Date();
      return t.core.app.inject({
        method: "POST",
        url: "/api/webhook/std",
        headers: {
          "content-type": "application/json",
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
          "webhook-signature": sender.sign(id, now, body),
        },
        payload: body,
      });
    };
    const first = await send();
    expect(first.statusCode, first.body).toBe(202);
    const run = await t.api(admin, "GET", `/api/runs/${first.json().runId}`);
    expect(run.body.webhook).toEqual({ event: "order.paid", deliveryId: id });
    const again = await send();
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ runId: first.json().runId, duplicate: true });
  });
});

describe("21.2: unsigned webhooks", () => {
  it("a webhook without a secret is refused at save time unless public: true; nothing is saved", async () => {
    const body = { name: "unsigned", prompt: "p", model: { provider: "p1", model: "m" }, webhook: { slug: "uns" } };
    const refused = await t.api(admin, "POST", "/api/jobs", body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe("validation_failed");
    expect(refused.body.error.message).toMatch(/public/);
    expect((await t.api(admin, "GET", "/api/jobs")).body.map((j: { name: string }) => j.name)).not.toContain(
      "unsigned",
    );
    const patched = await t.api(admin, "PATCH", `/api/jobs/${jobIds.pub}`, { webhook: { slug: "pub", public: false } });
    expect(patched.status).toBe(400);
    const pub = await t.api(admin, "GET", `/api/jobs/${jobIds.pub}`);
    expect(pub.body.webhook).toEqual({ slug: "pub", hasSecret: false, public: true });
  });

  it("a public webhook takes unsigned deliveries", async () => {
    const res = await t.core.app.inject({
      method: "POST",
      url: "/api/webhook/pub",
      headers: { "content-type": "text/plain" },
      payload: "hello",
    });
    expect(res.statusCode).toBe(202);
  });

  it("an unsigned webhook saved before the rule (neither secret nor public) refuses deliveries: 401", async () => {
    const legacy = await t.core.ctx.repos.jobs.create({
      name: "legacy-unsigned",
      prompt: "p",
      model: { provider: "p1", model: "m" },
      webhook: { slug: "legacy" },
    });
    const res = await t.core.app.inject({ method: "POST", url: "/api/webhook/legacy", payload: "{}" });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.message).toMatch(/no secret and is not marked public/);
    expect((await t.api(admin, "GET", `/api/runs?jobId=${legacy.id}`)).body).toEqual([]);
  });
});

describe("body limit", () => {
  it("defaults to 25 MiB: a 2 MiB delivery is accepted", async () => {
    const big = JSON.stringify({ blob: "x".repeat(2 * 1024 * 1024) });
    const res = await t.core.app.inject({
      method: "POST",
      url: "/api/webhook/pub",
      headers: { "content-type": "application/json" },
      payload: big,
    });
    expect(res.statusCode).toBe(202);
    expect(t.core.ctx.webhookMaxBytes).toBe(25 * 1024 * 1024);
  });
});
