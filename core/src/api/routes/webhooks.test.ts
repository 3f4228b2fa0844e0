import { createHmac, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/** SECURITY.md "Webhooks": both signing conventions, replay, clock skew, body limit, rate limit. */

const GITHUB_SECRET = "github-style-secret";
const WHSEC_KEY = randomBytes(24);
const WHSEC = `whsec_${WHSEC_KEY.toString("base64")}`;
const PLAIN_SECRET = "plain-standard-secret";
const RATE = 20;

let t: TestCore;
let admin: string;
const jobIds: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestCore({
    env: { FABRICORE_WEBHOOK_RATE_PER_MINUTE: String(RATE), FABRICORE_WEBHOOK_MAX_BYTES: String(1024 * 1024) },
  });
  admin = await t.login();
  await t.api(admin, "POST", "/api/providers", { name: "p1", kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
  for (const [slug, secret] of [
    ["gh", GITHUB_SECRET],
    ["std", WHSEC],
    ["std-plain", PLAIN_SECRET],
    ["open", undefined],
    ["limited", undefined],
  ] as const) {
    const job = await t.api(admin, "POST", "/api/jobs", {
      name: `hook-${slug}`,
      prompt: "react to the delivery",
      model: { provider: "p1", model: "m" },
      webhook: { slug, ...(secret ? { secret } : { public: true }) },
    });
    expect(job.status).toBe(201);
    jobIds[slug] = job.body.id;
  }
});

afterAll(async () => {
  await t?.close();
});

async function runCount(slug: string): Promise<number> {
  return (await t.api(admin, "GET", `/api/runs?jobId=${jobIds[slug]}&limit=500`)).body.length;
}

function post(slug: string, body: string, headers: Record<string, string>) {
  return t.core.app.inject({
    method: "POST",
    url: `/api/webhook/${slug}`,
    headers: { "content-type": "application/json", ...headers },
    payload: body,
  });
}

const githubSig = (body: string, secret = GITHUB_SECRET) =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

function standardHeaders(body: string, key: Buffer, opts: { id?: string; ts?: number } = {}) {
  const id = opts.id ?? `msg_${randomBytes(8).toString("hex")}`;
  const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
  const sig = createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": `v1,${sig}` };
}

describe("webhooks (SECURITY.md: Webhooks)", () => {
  it("GitHub: a signed delivery runs; a redelivered X-GitHub-Delivery is 200 with the first run, and runs nothing", async () => {
    const body = JSON.stringify({ ref: "refs/heads/main" });
    const headers = {
      "x-hub-signature-256": githubSig(body),
      "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    };
    const first = await post("gh", body, headers);
    expect(first.statusCode).toBe(202);
    expect(first.json().runId).toEqual(expect.any(String));
    const before = await runCount("gh");
    const replay = await post("gh", body, headers);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ runId: first.json().runId, duplicate: true });
    expect(await runCount("gh")).toBe(before);
  });

  it("GitHub: a missing, wrong or other-body signature is 401 and runs nothing", async () => {
    const body = JSON.stringify({ ref: "x" });
    const before = await runCount("gh");
    const cases: Array<Record<string, string>> = [
      {},
      { "x-hub-signature-256": githubSig(body, "wrong-secret") },
      { "x-hub-signature-256": githubSig(`${body} `) },
      { "x-hub-signature-256": "sha256=" },
      { "x-hub-signature-256": githubSig(body).toUpperCase() },
    ];
    for (const headers of cases) {
      const res = await post("gh", body, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json().error.code).toBe("unauthorized");
    }
    expect(await runCount("gh")).toBe(before);
  });

  it("an unsigned request cannot burn a delivery id: the signed delivery with that id still runs", async () => {
    const body = JSON.stringify({ ref: "refs/heads/burn" });
    const id = "burn-attempt-0001";
    expect((await post("gh", body, { "x-github-delivery": id })).statusCode).toBe(401);
    const real = await post("gh", body, { "x-hub-signature-256": githubSig(body), "x-github-delivery": id });
    expect(real.statusCode).toBe(202);
  });

  it("Standard Webhooks: whsec_ secret and plain secret both verify; a redelivered webhook-id is 200 duplicate", async () => {
    const body = JSON.stringify({ type: "invoice.paid" });
    const headers = standardHeaders(body, WHSEC_KEY);
    const first = await post("std", body, headers);
    expect(first.statusCode).toBe(202);
    const run = await t.api(admin, "GET", `/api/runs/${first.json().runId}`);
    expect(run.body.webhook).toEqual({ event: "invoice.paid", deliveryId: headers["webhook-id"] });
    const before = await runCount("std");
    const replay = await post("std", body, headers);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual({ runId: first.json().runId, duplicate: true });
    expect(await runCount("std")).toBe(before);

    const plain = standardHeaders(body, Buffer.from(PLAIN_SECRET, "utf8"));
    expect((await post("std-plain", body, plain)).statusCode).toBe(202);
  });

  it("Standard Webhooks: several signatures, one valid, is accepted (sender key rotation)", async () => {
    const body = "{}";
    const h = standardHeaders(body, WHSEC_KEY);
    const wrong = createHmac("sha256", randomBytes(24)).update("x").digest("base64");
    const res = await post("std", body, { ...h, "webhook-signature": `v1,${wrong} v2,abc ${h["webhook-signature"]}` });
    expect(res.statusCode).toBe(202);
  });

  it("Standard Webhooks: older or newer than ±5 minutes, tampered, or wrongly keyed is 401 and runs nothing", async () => {
    const body = JSON.stringify({ n: 1 });
    const now = Math.floor(Date.now() / 1000);
    const before = await runCount("std");
    const cases = [
      standardHeaders(body, WHSEC_KEY, { ts: now - 6 * 60 }),
      standardHeaders(body, WHSEC_KEY, { ts: now + 6 * 60 }),
      standardHeaders(body, Buffer.from(WHSEC, "utf8")), // the whsec_ string itself is not the key
      { ...standardHeaders(body, WHSEC_KEY), "webhook-timestamp": "not-a-number" },
      (() => {
        const h = standardHeaders(body, WHSEC_KEY);
        return { ...h, "webhook-id": `${h["webhook-id"]}x` };
      })(),
      { "webhook-signature": "v1,AAAA" },
    ];
    for (const headers of cases) {
      const res = await post("std", body, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
    }
    const tampered = standardHeaders(body, WHSEC_KEY);
    expect((await post("std", JSON.stringify({ n: 2 }), tampered)).statusCode).toBe(401);
    // Inside the window is fine.
    expect((await post("std", body, standardHeaders(body, WHSEC_KEY, { ts: now - 4 * 60 }))).statusCode).toBe(202);
    expect(await runCount("std")).toBe(before + 1);
  });

  it("a body over FABRICORE_WEBHOOK_MAX_BYTES (1 MiB here) is 413 with the error shape, and runs nothing", async () => {
    const before = await runCount("open");
    const res = await post("open", `"${"a".repeat(1024 * 1024)}"`, {});
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe("payload_too_large");
    expect(await runCount("open")).toBe(before);
  });

  it(`more than ${RATE} deliveries a minute to one webhook get 429 (others unaffected)`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < RATE + 2; i++) statuses.push((await post("limited", "{}", {})).statusCode);
    expect(statuses.slice(0, RATE).every((s) => s === 202)).toBe(true);
    expect(statuses.slice(RATE)).toEqual([429, 429]);
    const limited = await post("limited", "{}", {});
    expect(limited.json().error.code).toBe("rate_limited");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect((await post("open", "{}", {})).statusCode).toBe(202);
  });

  it("rejected deliveries are in the audit log", async () => {
    const entries = await t.api(admin, "GET", "/api/audit?action=webhook.reject&limit=100");
    const reasons = entries.body.map((e: { detail: { reason: string } }) => e.detail.reason);
    expect(reasons).toContain("bad_signature");
  });
});
