import { describe, expect, it } from "vitest";
import type { AuditEntryView, AuditLink } from "../api/types.ts";
import { auditSentence, detailPairs, sentenceText } from "./audit-sentence.ts";

const RUN = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

function entry(over: Omit<Partial<AuditEntryView>, "targetName">): AuditEntryView {
  return {
    id: 1,
    at: "2026-12-07T09:00:00.000Z",
    actor: "alice",
    action: "x",
    target: null,
    ip: null,
    outcome: "ok",
    detail: {},
    targetName: null,
    links: [],
    ...over,
  };
}
const alice: AuditLink = { role: "actor", kind: "user", id: "u1", name: "alice" };

describe("audit sentences (issue 22.7)", () => {
  it("a run start names the run and its job, linked", () => {
    const parts = auditSentence(
      entry({
        action: "run.start",
        target: RUN,
        detail: { jobId: "j1", job: "nightly-disk", trigger: "manual" },
        links: [
          alice,
          { role: "target", kind: "run", id: RUN, name: "nightly-disk" },
          { role: "job", kind: "job", id: "j1", name: "nightly-disk" },
        ],
      }),
    );
    expect(sentenceText(parts)).toBe("alice started run 2e3f4a5b of nightly-disk");
    expect(parts.filter((p) => p.to).map((p) => p.to)).toEqual(["/users", `/runs/${RUN}`, "/jobs/j1"]);
  });

  it("a tool call reads as the job running the tool on its Node", () => {
    const parts = auditSentence(
      entry({
        actor: "job:nightly-disk",
        action: "tool.call",
        target: "web-1/exec_command",
        detail: { runId: RUN, nodeId: "n1", tool: "exec_command" },
        links: [
          { role: "actor", kind: "job", id: "j1", name: "nightly-disk" },
          { role: "run", kind: "run", id: RUN, name: "nightly-disk" },
          { role: "node", kind: "node", id: "n1", name: "web-1" },
        ],
      }),
    );
    expect(sentenceText(parts)).toBe("job nightly-disk ran exec_command on web-1 in run 2e3f4a5b");
    expect(parts.find((p) => p.text === "web-1")?.to).toBe("/nodes/n1");
  });

  it("gone things keep the recorded name, unlinked; unknown targets show a short id, not a UUID", () => {
    const deleted = auditSentence(entry({ action: "job.delete", target: "j9", detail: { name: "old-job" } }));
    expect(sentenceText(deleted)).toBe("alice deleted job old-job");
    expect(deleted.some((p) => p.to)).toBe(false);
    expect(sentenceText(auditSentence(entry({ action: "run.cancel", target: RUN, detail: { jobId: "j9" } })))).toBe(
      "alice cancelled run 2e3f4a5b",
    );
    expect(sentenceText(auditSentence(entry({ action: "node.update", target: RUN })))).toBe(
      "alice changed Node 2e3f4a5b",
    );
  });

  it("token use: an API token by name, a session as the user's sign-in", () => {
    const api = auditSentence(
      entry({
        action: "token.use",
        target: "t1",
        detail: { kind: "api" },
        links: [alice, { role: "target", kind: "token", id: "t1", name: "ci-bot" }],
      }),
    );
    expect(sentenceText(api)).toBe("alice used token ci-bot");
    expect(sentenceText(auditSentence(entry({ action: "token.use", target: "t2", detail: { kind: "session" } })))).toBe(
      "alice's sign-in session was used",
    );
  });

  it("people, schedules, webhooks and the Core as actors; unknown actions stay readable", () => {
    expect(
      sentenceText(
        auditSentence(
          entry({ actor: "cron", action: "run.start", target: RUN, detail: { job: "nightly", trigger: "cron" } }),
        ),
      ),
    ).toBe("the schedule started run 2e3f4a5b of nightly (cron)");
    expect(
      sentenceText(
        auditSentence(
          entry({ actor: "webhook:gh", action: "webhook.reject", target: "j1", detail: { reason: "bad_signature" } }),
        ),
      ),
    ).toBe("webhook gh was refused for job j1 (bad_signature)");
    expect(sentenceText(auditSentence(entry({ action: "user.password", target: "u1", detail: { self: true } })))).toBe(
      "alice changed their own password",
    );
    expect(sentenceText(auditSentence(entry({ action: "auth.login_failed", actor: "mallory" })))).toBe(
      "A sign-in as mallory failed",
    );
    expect(sentenceText(auditSentence(entry({ action: "node.reboot", target: "web-1" })))).toBe(
      "alice node.reboot web-1",
    );
  });

  it("details as key/value text: nested keys dotted, lists joined, long values cut", () => {
    expect(
      detailPairs({
        tool: "exec_command",
        arguments: { command: "df -h", env: { A: "1" } },
        tags: ["a", "b"],
        n: 3,
        none: null,
      }),
    ).toEqual([
      ["tool", "exec_command"],
      ["arguments.command", "df -h"],
      ["arguments.env.A", "1"],
      ["tags", "a, b"],
      ["n", "3"],
      ["none", "—"],
    ]);
    expect(detailPairs({ long: "x".repeat(500) }, 10)[0]?.[1]).toBe(`${"x".repeat(9)}…`);
    expect(detailPairs({})).toEqual([]);
    // Ids the sentence links by name, and a call's id, are not repeated as bare UUIDs.
    expect(detailPairs({ runId: RUN, nodeId: "gone", callId: "c1", tool: "t" }, 200, new Set([RUN]))).toEqual([
      ["nodeId", "gone"],
      ["tool", "t"],
    ]);
  });
});
