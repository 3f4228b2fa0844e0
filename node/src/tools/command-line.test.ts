import { describe, expect, it } from "vitest";
import { CommandLineError, canonicalCommand, parseCommandLine, quoteWord } from "./command-line.ts";

function refusal(command: string): string {
  try {
    parseCommandLine(command);
  } catch (error) {
    expect(error).toBeInstanceOf(CommandLineError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(command)} was accepted`);
}

describe("parseCommandLine", () => {
  it("splits words as sh does, with its quoting", () => {
    expect(parseCommandLine("ls  -la\t/var/log")).toEqual(["ls", "-la", "/var/log"]);
    expect(parseCommandLine(`grep 'a b;c|d' "x y" z\\ w ''`)).toEqual(["grep", "a b;c|d", "x y", "z w", ""]);
    expect(parseCommandLine(`echo "a\\"b\\\\c\\$d\\q" 'it'\\''s'`)).toEqual(["echo", 'a"b\\c$d\\q', "it's"]);
    expect(parseCommandLine(`echo a#b x~ 'PATH=x'`)).toEqual(["echo", "a#b", "x~", "PATH=x"]);
    expect(parseCommandLine("echo '*' \\? \"[a]\"")).toEqual(["echo", "*", "?", "[a]"]);
  });

  // Each bypass of issue 15.1, as the review sent it: refused, naming the character.
  it.each([
    ["ls /var; touch X", ";", "a command separator"],
    ["ls $(touch X)", "$", "command substitution"],
    ["ls `touch X`", "`", "backtick"],
    ["ls /\ntouch X", "\n", "a newline"],
    ["ls / | sh -c 'touch X'", "|", "a pipe"],
    ["ls / && touch X", "&", "&&"],
    ["sleep 9 & touch X", "&", "background"],
    ["ls > /tmp/X", ">", "a redirection"],
    ["cat < /etc/shadow", "<", "a redirection"],
    ["ls (x)", "(", "a subshell"],
    ["echo $HOME", "$", "variable expansion"],
    ['echo "$(touch X)"', "$", "inside double quotes"],
    ['echo "`touch X`"', "`", "inside double quotes"],
    ["ls /etc/*", "*", "a glob"],
    ["ls /etc/pass?d", "?", "a glob"],
    ["ls /etc/[p]asswd", "[", "a glob"],
    ["cat ~/.ssh/id_rsa", "~", "home directory"],
    ["ls # comment", "#", "a comment"],
    ["ls /\r", "\r", "a carriage return"],
    ["ls /\u0000x", "\u0000", "a NUL byte"],
  ])("refuses %j at %j", (command, char, what) => {
    const message = refusal(command);
    expect(message).toContain(JSON.stringify(char));
    expect(message).toContain(what);
    expect(message).toContain("--allow-shell");
  });

  it("names the position of the refused character", () => {
    expect(refusal("ls /var; touch X")).toContain("at position 8");
  });

  it("refuses an environment assignment in front (PATH=, LD_PRELOAD=)", () => {
    expect(refusal("PATH=/tmp/evil ls")).toContain("environment assignment");
    expect(refusal("LD_PRELOAD=/tmp/x.so ls /")).toContain("environment assignment");
    expect(refusal("'LD_PRELOAD=/tmp/x.so' ls /")).toContain("environment assignment");
  });

  it("refuses unterminated quotes, a trailing backslash and an empty command", () => {
    expect(refusal("echo 'abc")).toContain("unterminated single quote");
    expect(refusal('echo "abc')).toContain("unterminated double quote");
    expect(refusal("echo abc\\")).toContain("trailing backslash");
    expect(refusal("   ")).toContain("names no program");
    // A backslash before a newline is a line continuation in sh: refused with the newline.
    expect(refusal("ls \\\n/")).toContain("a newline");
  });
});

describe("canonicalCommand", () => {
  it("writes plain words bare and quotes the rest so that sh reads the same argv back", () => {
    expect(quoteWord("/var/log/syslog")).toBe("/var/log/syslog");
    expect(quoteWord("--color=auto")).toBe("--color=auto");
    expect(quoteWord("")).toBe("''");
    const argv = ["grep", "a b", "it's", "$x;y", "*"];
    const line = canonicalCommand(argv);
    expect(line).toBe(`grep 'a b' 'it'\\''s' '$x;y' '*'`);
    expect(parseCommandLine(line)).toEqual(argv);
  });
});
