import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingLlmClient } from "../../agent/testing/recording-llm-client.ts";
import { startHttpReceiver, startSmtpReceiver } from "../../channels/testing/receivers.ts";
import { startTestCore, type TestCore } from "../../testing/test-core.ts";

/**
 * CONTRACT "Results that reach people": channels and per-job notify rules, end to end in one
 * process — the real Core, the real Node program (in-memory transport), real HTTP receivers and a
 * real SMTP server on loopback. The signature is checked with the `standardwebhooks` reference
 * library, not with our own verifier.
 */

const WHSEC = `whsec_${randomBytes(24).toString("base64")}`;
const PUBLIC_URL = "https://fabricore.example.com";

let t: TestCore;
let admin: string;
let operator: string;

/** Provider `p-ok` answers; `p-broken` fails; `p-tool` calls `echo` (for the approval gate). */
function model(provider: { name?: string | undefined }) {
  if (provider.name === "p-broken") return new RecordingLlmClient([{ error: new Error("the model exploded") }]);
  if (provider.name === "p-tool")
    return new RecordingLlmClient((_request, index) =>
      index === 0
        ? { text: "", toolCalls: [{ name: "echo", arguments: '{"msg":"restart nginx"}' }] }
        : { text: "done" },
    );
  return new RecordingLlmClient([{ text: "All disks below 80%.\nweb-1: 41%\nweb-2: 77%" }]);
}

beforeAll(async () => {
  t = await startTestCore({
    llm: (p) => model(p),
    env: {
      FABRICORE_PUBLIC_URL: PUBLIC_URL,
      FABRICORE_DELIVERY_RETRY_BASE_MS: "50",
      FABRICORE_DELIVERY_MAX_ATTEMPTS: "4",
      FABRICORE_DELIVERY_TIMEOUT_SECONDS: "2",
    },
  });
  admin = await t.login();
  operator = await t.userToken("operator");
  await t.connectNode("web-1");
  for (const name of ["p-ok", "p-broken", "p-tool"])
    await t.api(admin, "POST", "/api/providers", { name, kind: "lmstudio", baseUrl: "http://127.0.0.1:9" });
});

afterAll(async () => {
  await t?.close();
});

async function channel(body: unknown): Promise<string> {
  const res = await t.api(admin, "POST", "/api/channels", body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function jobWith(name: string, extra: Record<string, unknown>): Promise<string> {
  const res = await t.api(operator, "POST", "/api/jobs", {
    name,
    prompt: "check the disks",
    model: { provider: "p-ok", model: "m" },
    nodes: ["web-1"],
    ...extra,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

async function runJob(jobId: string): Promise<string> {
  const res = await t.api(operator, "POST", `/api/jobs/${jobId}/run`, {});
  expect(res.status).toBe(202);
  return res.body.runId;
}

async function until<T = any>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const runView = async (runId: string) => (await t.api(admin, "GET", `/api/runs/${runId}`)).body;

describe("channels API", () => {
  it("creates, lists without secrets, refuses bad input, deletes; secrets stay out of responses and logs", async () => {
    const slackUrl = `https://hooks.slack.com/services/T000/B000/${randomBytes(12).toString("hex")}`;
    const created = await t.api(admin, "POST", "/api/channels", {
      name: "team-slack",
      kind: "slack",
      config: { url: slackUrl },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "team-slack",
      kind: "slack",
      config: { host: "hooks.slack.com" },
      secrets: ["url"],
    });
    const listed = await t.api(admin, "GET", "/api/channels");
    expect(listed.body.map((c: { name: string }) => c.name)).toContain("team-slack");
    expect(JSON.stringify(listed.body)).not.toContain(slackUrl);
    expect(JSON.stringify(created.body)).not.toContain(slackUrl);
    expect((await t.api(operator, "GET", `/api/channels/${created.body.id}`)).status).toBe(200);

    // Bad input: a URL that is not http(s), an unknown kind, an unknown field, a duplicate name, a viewer writing.
    for (const bad of [
      { name: "x1", kind: "webhook", config: { url: "file:///etc/passwd" } },
      { name: "x2", kind: "webhook", config: { url: "javascript:alert(1)" } },
      { name: "x3", kind: "pager", config: { url: "https://example.com" } },
      { name: "x4", kind: "ntfy", config: { url: "https://ntfy.sh/t", password: "nope" } },
      {
        name: "x5",
        kind: "email",
        config: { smtpUrl: "http://mail.example.com", from: "a@example.com", to: "b@example.com" },
      },
    ]) {
      const res = await t.api(admin, "POST", "/api/channels", bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const dup = await t.api(admin, "POST", "/api/channels", {
      name: "team-slack",
      kind: "discord",
      config: { url: slackUrl },
    });
    expect(dup.status).toBe(409);
    const viewer = await t.userToken("viewer");
    expect(
      (await t.api(viewer, "POST", "/api/channels", { name: "v", kind: "slack", config: { url: slackUrl } })).status,
    ).toBe(403);
    expect((await t.api(operator, "DELETE", `/api/channels/${created.body.id}`)).status).toBe(403);

    // In use: refused, naming the job; once the rule is gone, deleted.
    const jobId = await jobWith("uses-slack", { notify: [{ channel: "team-slack", on: ["failed"] }] });
    const inUse = await t.api(admin, "DELETE", `/api/channels/${created.body.id}`);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error.message).toContain("uses-slack");
    expect((await t.api(operator, "PATCH", `/api/jobs/${jobId}`, { notify: [] })).status).toBe(200);
    expect((await t.api(admin, "DELETE", `/api/channels/${created.body.id}`)).status).toBe(200);
    expect((await t.api(admin, "GET", `/api/channels/${created.body.id}`)).status).toBe(404);
    expect(t.logLines.join("")).not.toContain(slackUrl);
  });

  it("a job's notify names a channel that exists (stored by id); an unknown one is a 400 and nothing is saved", async () => {
    const id = await channel({ name: "hook-for-rules", kind: "webhook", config: { url: "http://127.0.0.1:9/x" } });
    const bad = await t.api(operator, "POST", "/api/jobs", {
      name: "rule-bad",
      prompt: "p",
      model: { provider: "p-ok", model: "m" },
      notify: [{ channel: "no-such-channel", on: ["failed"] }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("notify.0.channel: no channel no-such-channel");
    expect((await t.api(admin, "GET", "/api/jobs")).body.map((j: { name: string }) => j.name)).not.toContain(
      "rule-bad",
    );
    const emptyOn = await t.api(operator, "POST", "/api/jobs", {
      name: "rule-empty",
      prompt: "p",
      model: { provider: "p-ok", model: "m" },
      notify: [{ channel: id, on: [] }],
    });
    expect(emptyOn.status).toBe(400);
    const jobId = await jobWith("rule-good", {
      notify: [{ channel: "hook-for-rules", on: ["succeeded", "succeeded"] }],
    });
    expect((await t.api(admin, "GET", `/api/jobs/${jobId}`)).body.notify).toEqual([{ channel: id, on: ["succeeded"] }]);
    const patched = await t.api(operator, "PATCH", `/api/jobs/${jobId}`, {
      notify: [{ channel: "nope", on: ["failed"] }],
    });
    expect(patched.status).toBe(400);
    expect((await t.api(admin, "GET", `/api/jobs/${jobId}`)).body.notify).toEqual([{ channel: id, on: ["succeeded"] }]);
  });

  it("POST /api/channels/:id/test sends a signed test message and shows the receiver's answer", async () => {
    const receiver = await startHttpReceiver([418]);
    try {
      const id = await channel({
        name: "test-me",
        kind: "webhook",
        config: { url: `${receiver.url}/hook`, secret: WHSEC },
      });
      const res = await t.api(operator, "POST", `/api/channels/${id}/test`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, status: 418, response: "status 418", channel: "test-me" });
      receiver.setStatuses([200]);
      const ok = await t.api(operator, "POST", `/api/channels/test-me/test`);
      expect(ok.body).toMatchObject({ ok: true, status: 200, response: "ok" });
      const last = receiver.requests.at(-1)!;
      const verified = new Webhook(WHSEC).verify(last.body, last.headers as Record<string, string>) as { type: string };
      expect(verified.type).toBe("channel.test");
      const refused = await t.api(operator, "POST", "/api/channels/test-me/test");
      expect(refused.status).toBe(200);
      await receiver.close();
      const down = await t.api(operator, "POST", "/api/channels/test-me/test");
      expect(down.body).toMatchObject({ ok: false, retry: true });
      expect(down.body.error).toMatch(/connection failed/);
    } finally {
      await receiver.close();
    }
  });
});

describe("notifications of runs", () => {
  it("a failed run reaches a webhook receiver signed (verified by standardwebhooks) with the contract's body", async () => {
    const receiver = await startHttpReceiver([200]);
    try {
      await channel({
        name: "ops-webhook",
        kind: "webhook",
        config: { url: `${receiver.url}/fabricore`, secret: WHSEC },
      });
      const jobId = await jobWith("fails-loudly", {
        model: { provider: "p-broken", model: "m" },
        notify: [{ channel: "ops-webhook", on: ["failed"] }],
      });
      const runId = await runJob(jobId);
      const run = await until("the delivery", async () => {
        const v = await runView(runId);
        return v.deliveries?.[0]?.status === "delivered" && v;
      });
      expect(run.status).toBe("failed");
      expect(run.deliveries).toEqual([
        expect.objectContaining({
          channel: "ops-webhook",
          kind: "webhook",
          event: "run.failed",
          status: "delivered",
          attempts: 1,
          lastError: null,
        }),
      ]);
      expect(receiver.requests).toHaveLength(1);
      const req = receiver.requests[0]!;
      expect(req.path).toBe("/fabricore");
      expect(req.headers["content-type"]).toBe("application/json");
      const body = new Webhook(WHSEC).verify(req.body, req.headers as Record<string, string>) as Record<string, any>;
      expect(body).toMatchObject({
        type: "run.failed",
        run: {
          id: runId,
          jobId,
          jobName: "fails-loudly",
          status: "failed",
          trigger: "manual",
          output: null,
          result: null,
          error: expect.stringContaining("the model exploded"),
          startedAt: expect.any(String),
          finishedAt: expect.any(String),
          url: `${PUBLIC_URL}/runs/${runId}`,
          nodes: ["web-1"],
        },
      });
      // A tampered body does not verify: the library really checks our signature.
      expect(() =>
        new Webhook(WHSEC).verify(
          req.body.replace("fails-loudly", "fails-quietly"),
          req.headers as Record<string, string>,
        ),
      ).toThrow();
      const metrics = await t.api(admin, "GET", "/metrics");
      expect(metrics.body).toMatch(/fabricore_notification_deliveries_total\{kind="webhook",outcome="delivered"\} 1/);
    } finally {
      await receiver.close();
    }
  });

  it("a receiver answering 500 twice then 200 gets it on the third attempt, same webhook-id; a 400 gets one attempt", async () => {
    const flaky = await startHttpReceiver([500, 500, 200]);
    const picky = await startHttpReceiver([400]);
    try {
      await channel({ name: "flaky", kind: "webhook", config: { url: flaky.url, secret: WHSEC } });
      await channel({ name: "picky", kind: "webhook", config: { url: picky.url } });
      const jobId = await jobWith("succeeds", {
        notify: [
          { channel: "flaky", on: ["succeeded"] },
          { channel: "picky", on: ["succeeded", "failed"] },
        ],
      });
      const runId = await runJob(jobId);
      const run = await until("both deliveries settled", async () => {
        const v = await runView(runId);
        return v.deliveries?.length === 2 && v.deliveries.every((d: { status: string }) => d.status !== "pending") && v;
      });
      const byChannel = Object.fromEntries(run.deliveries.map((d: { channel: string }) => [d.channel, d]));
      expect(byChannel.flaky).toMatchObject({ status: "delivered", attempts: 3, lastError: null });
      expect(byChannel.picky).toMatchObject({
        status: "failed",
        attempts: 1,
        lastError: expect.stringContaining("HTTP 400"),
      });
      expect(flaky.requests).toHaveLength(3);
      expect(new Set(flaky.requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
      for (const r of flaky.requests) new Webhook(WHSEC).verify(r.body, r.headers as Record<string, string>);
      // The backoff grew: the second gap is longer than the first (base 50 ms, doubling, jittered).
      const [a, b, c] = flaky.requests.map((r) => r.at) as [number, number, number];
      expect(b - a).toBeGreaterThanOrEqual(20);
      expect(c - b).toBeGreaterThanOrEqual(45);
      await new Promise((r) => setTimeout(r, 300));
      expect(picky.requests).toHaveLength(1);
      // Unsigned channel: no signature header, but an id and timestamp to de-duplicate on.
      expect(picky.requests[0]!.headers["webhook-signature"]).toBeUndefined();
      expect(picky.requests[0]!.headers["webhook-id"]).toMatch(/^msg_/);
    } finally {
      await flaky.close();
      await picky.close();
    }
  });

  it("a receiver that stays down is retried up to the attempt limit, then failed with the reason", async () => {
    const gone = await startHttpReceiver();
    const url = gone.url;
    await gone.close();
    await channel({ name: "gone", kind: "webhook", config: { url } });
    const runId = await runJob(await jobWith("into-the-void", { notify: [{ channel: "gone", on: ["succeeded"] }] }));
    const run = await until("the delivery given up", async () => {
      const v = await runView(runId);
      return v.deliveries?.[0]?.status === "failed" && v;
    });
    expect(run.status).toBe("succeeded");
    expect(run.deliveries[0]).toMatchObject({ attempts: 4, lastError: expect.stringMatching(/connection failed/) });
  });

  it("slack, discord and ntfy get their documented shapes with the job, status, Node, answer and link", async () => {
    const receiver = await startHttpReceiver([200]);
    try {
      await channel({ name: "s", kind: "slack", config: { url: `${receiver.url}/services/T/B/x` } });
      await channel({ name: "d", kind: "discord", config: { url: `${receiver.url}/api/webhooks/1/abc` } });
      await channel({
        name: "n",
        kind: "ntfy",
        config: { url: `${receiver.url}/ops-topic`, token: "tk_ntfytoken123" },
      });
      const runId = await runJob(
        await jobWith("disk-report", {
          notify: ["s", "d", "n"].map((channel) => ({ channel, on: ["succeeded"] })),
        }),
      );
      await until("three deliveries", async () => receiver.requests.length >= 3);
      const link = `${PUBLIC_URL}/runs/${runId}`;
      const slack = receiver.requests.find((r) => r.path.startsWith("/services"))!;
      const s = JSON.parse(slack.body);
      expect(s.text).toBe(`✅ disk-report succeeded: ${link}`);
      expect(JSON.stringify(s.blocks)).toContain("Nodes: web-1");
      expect(JSON.stringify(s.blocks)).toContain("All disks below 80%.");
      expect(JSON.stringify(s.blocks)).toContain(`<${link}|Open the run>`);
      const discord = JSON.parse(receiver.requests.find((r) => r.path.startsWith("/api/webhooks"))!.body);
      expect(discord.content).toContain("**✅ disk-report succeeded**");
      expect(discord.content).toContain("web-2: 77%");
      expect(discord.content.endsWith(link)).toBe(true);
      expect(discord.allowed_mentions).toEqual({ parse: [] });
      const ntfy = receiver.requests.find((r) => r.path === "/ops-topic")!;
      expect(ntfy.headers).toMatchObject({
        title: "disk-report succeeded",
        tags: "white_check_mark",
        click: link,
        authorization: "Bearer tk_ntfytoken123",
      });
      expect(ntfy.body).toContain("All disks below 80%.");
    } finally {
      await receiver.close();
    }
  });

  it("an email reaches a real SMTP server on loopback and reads back with subject, body and link", async () => {
    const smtp = await startSmtpReceiver();
    try {
      await channel({
        name: "mail",
        kind: "email",
        config: {
          smtpUrl: `smtp://127.0.0.1:${smtp.port}`,
          from: "fabricore@example.com",
          to: ["ops@example.com", "dev@example.com"],
        },
      });
      const runId = await runJob(
        await jobWith("mailed", {
          model: { provider: "p-broken", model: "m" },
          notify: [{ channel: "mail", on: ["failed"] }],
        }),
      );
      await until("the email", async () => smtp.messages.length === 1);
      const mail = smtp.messages[0]!;
      expect(mail.subject).toBe("[FabriCore] ❌ mailed failed");
      expect(mail.from?.text).toBe("fabricore@example.com");
      expect(mail.envelopeTo).toEqual(["ops@example.com", "dev@example.com"]);
      expect(mail.text).toContain("Error: ");
      expect(mail.text).toContain("the model exploded");
      expect(mail.text).toContain(`${PUBLIC_URL}/runs/${runId}`);
      const run = await until("delivered", async () => {
        const v = await runView(runId);
        return v.deliveries[0]?.status === "delivered" && v;
      });
      expect(run.deliveries[0]).toMatchObject({ kind: "email", attempts: 1 });
      const tested = await t.api(operator, "POST", "/api/channels/mail/test");
      expect(tested.body).toMatchObject({ ok: true, status: 250 });
      expect(smtp.messages).toHaveLength(2);
    } finally {
      await smtp.close();
    }
  });

  it("waiting_approval is announced with the pending call and the link to approve", async () => {
    const receiver = await startHttpReceiver([200]);
    try {
      await channel({ name: "approvers", kind: "webhook", config: { url: receiver.url, secret: WHSEC } });
      const jobId = await jobWith("gated", {
        model: { provider: "p-tool", model: "m" },
        tools: ["echo"],
        approval: { tools: ["echo"], timeoutSeconds: 60 },
        notify: [{ channel: "approvers", on: ["waiting_approval"] }],
      });
      const runId = await runJob(jobId);
      await until("the approval notification", async () => receiver.requests.length === 1);
      const body = new Webhook(WHSEC).verify(
        receiver.requests[0]!.body,
        receiver.requests[0]!.headers as Record<string, string>,
      ) as Record<string, any>;
      const run = await runView(runId);
      expect(run.status).toBe("waiting_approval");
      expect(body).toMatchObject({
        type: "run.waiting_approval",
        run: { id: runId, status: "waiting_approval", url: `${PUBLIC_URL}/runs/${runId}` },
        approval: {
          id: run.pendingApproval.id,
          tool: "echo",
          node: "web-1",
          arguments: { msg: "restart nginx" },
          url: `${PUBLIC_URL}/runs/${runId}`,
        },
      });
      expect((await t.api(operator, "POST", `/api/runs/${runId}/approve`, {})).status).toBe(200);
      await until("the run done", async () => (await runView(runId)).status === "succeeded");
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});
