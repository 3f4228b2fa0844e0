import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ToolResult } from "@fabricore/protocol";
import { afterAll, describe, expect, it } from "vitest";
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

  it("with --allow-shell runs through /bin/sh and returns exit code, stdout and stderr", async () => {
    const result = await execCommandTool(
      { command: "echo out; echo err >&2; exit 3" },
      { allowExec: true, shell: true },
    );
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
    const result = await execCommandTool(
      { command: "sleep 30 & echo $!; wait", timeoutMs: 300 },
      { allowExec: true, shell: true },
    );
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
      { allowExec: true, shell: true, signal: controller.signal },
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
      { allowExec: true, shell: true, outputCapBytes: 1000 },
    );
    const out = structured(result);
    expect(String(out.stdout).length).toBe(1000);
    expect(String(out.stderr).length).toBe(50);
    expect(out.truncated).toBe(true);
  });

  it("does not wait for a background child holding the pipes", async () => {
    const started = Date.now();
    const result = await execCommandTool({ command: "sleep 5 & echo started" }, { allowExec: true, shell: true });
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
    expect(JSON.stringify(result.content)).toContain('\\";\\" at position 15');
  });
});

describe("exec_command without a shell: the bypasses of issue 15.1 against --exec-allow 'ls .*'", () => {
  const dir = mkdtempSync(join(tmpdir(), "fc-exec-"));
  const marker = join(dir, "X");
  const allow = [/^(?:ls .*)$/s];
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    `ls /var; touch ${marker}`,
    `ls $(touch ${marker})`,
    `ls \`touch ${marker}\``,
    `ls /\ntouch ${marker}`,
    `ls / | sh -c 'touch ${marker}'`,
    `ls / && touch ${marker}`,
    `ls / > ${marker}`,
    `PATH=${dir} ls /`,
    `LD_PRELOAD=${dir}/x.so ls /`,
  ])("%j is refused and runs nothing", async (command) => {
    for (const options of [{ allowExec: true, allow }, { allowExec: true }]) {
      const result = await execCommandTool({ command }, options);
      expect(result.isError).toBe(true);
      expect(JSON.stringify(result.content)).toMatch(/command refused/);
      expect(existsSync(marker)).toBe(false);
    }
  });

  it("runs the allowed program with its words as argv: no glob, no expansion", async () => {
    writeFileSync(join(dir, "a.log"), "");
    const listed = await execCommandTool({ command: `ls ${dir}` }, { allowExec: true, allow });
    expect(structured(listed)).toMatchObject({ exitCode: 0, stdout: "a.log\n" });
    // Quoted, the glob is a literal name: ls looks for a file called "*.log", it lists nothing.
    const literal = await execCommandTool(
      { command: `ls '${dir}/*.log' '$(touch ${marker})'` },
      { allowExec: true, allow },
    );
    expect(structured(literal).exitCode).not.toBe(0);
    expect(String(structured(literal).stderr)).toContain("*.log");
    expect(existsSync(marker)).toBe(false);
  });

  it("refuses an option injected through a pattern's wildcard before it runs", async () => {
    const secret = join(dir, "secret");
    writeFileSync(secret, "hunter2\n");
    const log = join(dir, "app.log");
    writeFileSync(log, "hunter2 was here\nok\n");
    const grep = [new RegExp(`^(?:grep \\S+ ${log})$`, "s")];
    const fine = await execCommandTool({ command: `grep ok ${log}` }, { allowExec: true, allow: grep });
    expect(structured(fine)).toMatchObject({ exitCode: 0, stdout: "ok\n" });
    // As a pattern file, the secret would make grep print every log line that contains it.
    const injected = await execCommandTool(
      { command: `grep --file=${secret} ${log}` },
      { allowExec: true, allow: grep },
    );
    expect(injected.isError).toBe(true);
    expect(JSON.stringify(injected.content)).toContain("never stands for an option");
    expect(injected.structuredContent).toEqual({ code: "not_allowed" });
  });

  it("refuses cat /var/log/../../etc/shadow against 'cat /var/log/.*' (issue 21.10)", async () => {
    const result = await execCommandTool(
      { command: "cat /var/log/../../etc/shadow" },
      { allowExec: true, allow: [/^(?:cat \/var\/log\/.*)$/s] },
    );
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain('\\"..\\" path segment');
  });

  it("names a program that is not on PATH", async () => {
    const result = await execCommandTool({ command: "fabricore-no-such-program --x" }, { allowExec: true });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("command not found: fabricore-no-such-program");
  });

  it("passes a quoted argument with spaces and quotes as one word", async () => {
    const result = await execCommandTool({ command: `printf '%s|' 'a b' "it's" x\\ y` }, { allowExec: true });
    expect(structured(result)).toMatchObject({ exitCode: 0, stdout: "a b|it's|x y|" });
  });

  it("refuses --exec-allow together with a shell even if wired so by mistake", async () => {
    const result = await execCommandTool({ command: "ls /" }, { allowExec: true, shell: true, allow });
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toContain("cannot bound a shell");
  });
});
