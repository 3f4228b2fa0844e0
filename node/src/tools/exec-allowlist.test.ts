import { describe, expect, it } from "vitest";
import { loadNodeSettings } from "../env.ts";
import { parseCommandLine } from "./command-line.ts";
import { execAllowRefusal } from "./exec-allowlist.ts";

/** Patterns exactly as the Node builds them from its flags (anchored by env.ts). */
function patterns(...flags: string[]): RegExp[] {
  const result = loadNodeSettings(
    ["--core", "https://core.example", ...flags.flatMap((f) => ["--exec-allow", f])],
    {},
    { isRoot: false, homeDir: "/home/n", isDirectory: () => true },
  );
  if (result.kind !== "run") throw new Error("no settings");
  return result.settings.execAllow;
}

const check = (command: string, allow: RegExp[]) => execAllowRefusal(parseCommandLine(command), allow);

describe("--exec-allow on argv", () => {
  it("admits what the pattern names, re-quoted canonically", () => {
    const allow = patterns("df( -h)?", "ls .*", "echo allowed-[0-9]+");
    expect(check("df", allow)).toBeUndefined();
    expect(check("df   -h", allow)).toBeUndefined();
    expect(check("'echo' allowed-42", allow)).toBeUndefined();
    expect(check("ls /var /tmp", allow)).toBeUndefined();
    // The word holds the `;` as text and is passed on as one argument: no shell ever reads it.
    expect(check("ls '/var; touch X'", allow)).toBeUndefined();
    expect(check("echo allowed-42 extra", allow)).toContain("matches none");
    expect(check("df -h -a", allow)).toContain("matches none");
  });

  it("refuses a path with a .. segment whatever the pattern (issue 21.10)", () => {
    const allow = patterns("cat /var/log/.*");
    expect(check("cat /var/log/syslog", allow)).toBeUndefined();
    expect(check("cat /var/log/../../etc/shadow", allow)).toContain('".." path segment');
    expect(check("cat /var/log/x/..", allow)).toContain('".." path segment');
    expect(check("cat ../etc/shadow", patterns("cat .*"))).toContain('".." path segment');
    expect(check("grep --file=../../etc/shadow x", patterns("grep --file=.*"))).toContain("..");
    // `..` inside a name is not a segment.
    expect(check("cat /var/log/a..b", allow)).toBeUndefined();
  });

  it("never lets a wildcard stand for an option (-- option injection)", () => {
    const grep = patterns("grep \\S+ /var/log/syslog");
    expect(check("grep error /var/log/syslog", grep)).toBeUndefined();
    expect(check("grep --file=/etc/shadow /var/log/syslog", grep)).toContain('"--file="');
    expect(check("grep -f/etc/shadow /var/log/syslog", grep)).toContain("never stands for an option");
    const find = patterns("find /srv .*");
    expect(check("find /srv -delete", find)).toContain('"-delete"');
    expect(check("find /srv -exec sh {} \\;", find)).toContain('"-exec"');
    const ls = patterns("ls .*");
    expect(check("ls --color=always /", ls)).toContain("--color=");
  });

  it("admits options written out in the pattern, and operands after a written --", () => {
    const allow = patterns(
      "ls( -l| -la)? \\S+",
      "df( -h)?",
      "journalctl -u \\S+ --since=\\S+",
      "grep -- \\S+ /var/log/syslog",
    );
    expect(check("ls -la /var", allow)).toBeUndefined();
    expect(check("ls -l /var", allow)).toBeUndefined();
    expect(check("ls -a /var", allow)).toContain("matches none");
    expect(check("df -h", allow)).toBeUndefined();
    expect(check("journalctl -u nginx --since=today", allow)).toBeUndefined();
    // `-u` is written, but the wildcard for its value cannot smuggle in another option.
    expect(check("journalctl -u --output=export --since=today", allow)).toContain('"--output="');
    // After `--` the words are operands: `-v` is the text grep looks for.
    expect(check("grep -- -v /var/log/syslog", allow)).toBeUndefined();
    // A `-h` inside a longer word of the pattern does not count as writing `-h` out.
    expect(check("ls -h /x", patterns("ls( -hx)? .*"))).toContain('"-h"');
  });
});
