import { readFileSync } from "node:fs";
import type { ToolResult } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { execCommandTool } from "./exec-command.ts";

const structured = (result: ToolResult) => result.structuredContent as Record<string, unknown>;

/** Running, not merely a zombie waiting for a container's init to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== "linux") return true;
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

describe("exec_command", () => {
  it("refuses without --allow-exec", async () => {
    const result = await execCommandTool({ command: "echo hi" }, { allowExec: false });
    expect(result.isError).toBe(true);
    expect(result.content[0]).toMatchObject({ text: expect.stringContaining("--allow-exec") });
  });

  it("runs through /bin/sh and returns exit code, stdout and stderr", async () => {
    const result = await execCommandTool({ command: "echo out; echo err >&2; exit 3" }, { allowExec: true });
    expect(structured(result)).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false });
    expect(result.isError).toBe(true);
    const ok = await execCommandTool({ command: "pwd", cwd: "/tmp" }, { allowExec: true });
    expect(structured(ok)).toMatchObject({ exitCode: 0, stdout: "/tmp\n" });
    expect(ok.isError).toBe(false);
  });

  it("does not pass the Node's own settings (its token) to commands", async () => {
    process.env.FABRICORE_NODE_TOKEN = "fcn_secret";
    try {
      const result = await execCommandTool({ command: "env" }, { allowExec: true });
      expect(String(structured(result).stdout)).not.toContain("fcn_secret");
      expect(String(structured(result).stdout)).toContain("PATH=");
    } finally {
      delete process.env.FABRICORE_NODE_TOKEN;
    }
  });

  it("kills the whole process group at the timeout", async () => {
    const started = Date.now();
    // The background sleep is a grandchild; it must die with the shell.
    const result = await execCommandTool({ command: "sleep 30 & echo $!; wait", timeoutMs: 300 }, { allowExec: true });
    expect(Date.now() - started).toBeLessThan(3_000);
    const out = structured(result);
    expect(out.timedOut).toBe(true);
    const grandchild = Number(String(out.stdout).trim());
    expect(grandchild).toBeGreaterThan(0);
    // SIGTERM went to the group; give the kernel a moment to reap.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(alive(grandchild)).toBe(false);
  });

  it("kills the group when the call is aborted", async () => {
    const controller = new AbortController();
    const pending = execCommandTool(
      { command: "trap '' TERM; sleep 30" },
      { allowExec: true, signal: controller.signal },
    );
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await pending;
    // TERM is ignored by the shell, so this is the SIGKILL after the grace.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result.isError).toBe(true);
    expect(structured(result).note).toContain("cancelled");
  });

  it("caps each stream and says so", async () => {
    const result = await execCommandTool(
      { command: "head -c 100000 /dev/zero | tr '\\0' a; head -c 50 /dev/zero | tr '\\0' b >&2" },
      { allowExec: true, outputCapBytes: 1000 },
    );
    const out = structured(result);
    expect(String(out.stdout).length).toBe(1000);
    expect(String(out.stderr).length).toBe(50);
    expect(out.truncated).toBe(true);
  });

  it("does not wait for a background child holding the pipes", async () => {
    const started = Date.now();
    const result = await execCommandTool({ command: "sleep 5 & echo started" }, { allowExec: true });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(structured(result)).toMatchObject({ exitCode: 0, stdout: "started\n" });
  });

  it("answers bad arguments and a bad cwd with error results", async () => {
    const bad = await execCommandTool({ command: "" }, { allowExec: true });
    expect(bad.isError).toBe(true);
    expect(bad.content[0]).toMatchObject({ text: expect.stringContaining("invalid arguments for exec_command") });
    const cwd = await execCommandTool({ command: "true", cwd: "/does/not/exist" }, { allowExec: true });
    expect(cwd.isError).toBe(true);
    expect(cwd.content[0]).toMatchObject({ text: expect.stringContaining("cwd") });
  });
});

describe("exec_command with --exec-allow", () => {
  const allow = [/^(?:df( -h)?)$/s, /^(?:echo allowed-\d+)$/s];

  it("runs a command that matches a pattern in full", async () => {
    const result = await execCommandTool({ command: "echo allowed-7" }, { allowExec: true, allow });
    expect(result.isError).toBeFalsy();
    expect(String(structured(result).stdout)).toContain("allowed-7");
  });

  it("refuses any other command with the reason, without running it", async () => {
    const result = await execCommandTool({ command: "echo allowed-7; touch /tmp/x" }, { allowExec: true, allow });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("--exec-allow");
    expect(JSON.stringify(result.content)).toContain("matches none");
  });
});
