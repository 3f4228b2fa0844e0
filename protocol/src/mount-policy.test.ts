import { describe, expect, it } from "vitest";
import { checkMount, checkMounts, isPathWithin, normalizeAbsolutePath } from "./mount-policy.ts";

const ok = (source: string, target = "/data") => checkMount({ source, target });

describe("mount policy", () => {
  it("allows an ordinary normalised directory", () => {
    expect(ok("/srv/reports")).toEqual([]);
    expect(ok("/home/alice/projects", "/projects")).toEqual([]);
    // A name that merely starts like a forbidden one is not below it.
    expect(ok("/etcetera")).toEqual([]);
    expect(ok("/devtools")).toEqual([]);
  });

  it("refuses the Docker socket, directly or through a directory above it", () => {
    expect(ok("/var/run/docker.sock").join()).toMatch(/Docker socket/);
    expect(ok("/run/docker.sock").join()).toMatch(/Docker socket/);
    expect(ok("/var/run").join()).toMatch(/contains the Docker socket "\/var\/run\/docker.sock"/);
    expect(ok("/run").join()).toMatch(/Docker socket/);
    expect(ok("/var").length).toBeGreaterThan(0);
  });

  it("refuses / and the system directories and anything below them", () => {
    expect(ok("/").join()).toMatch(/whole host file system/);
    for (const path of ["/proc", "/sys", "/dev", "/boot", "/etc", "/root", "/etc/ssh", "/proc/1/root", "/root/.ssh"]) {
      expect(ok(path), path).not.toEqual([]);
    }
    expect(ok("/etc/ssh")[0]).toBe('mount source "/etc/ssh" is inside "/etc", which is never mounted');
  });

  it("refuses an extra forbidden path, what is below it and what contains it", () => {
    const options = { forbidden: ["/var/lib/fabricore/"] };
    expect(checkMount({ source: "/var/lib/fabricore", target: "/d" }, options)).not.toEqual([]);
    expect(checkMount({ source: "/var/lib/fabricore/token", target: "/d" }, options)).not.toEqual([]);
    expect(checkMount({ source: "/var/lib", target: "/d" }, options).join()).toMatch(
      /contains "\/var\/lib\/fabricore"/,
    );
    expect(checkMount({ source: "/var/lib/other", target: "/d" }, options)).toEqual([]);
  });

  it("refuses relative, non-normalised and traversal paths with a reason that says what to write", () => {
    expect(ok("data").join()).toMatch(/not an absolute path/);
    expect(ok("./data").join()).toMatch(/not an absolute path/);
    expect(ok("/srv/../etc").join()).toMatch(/"\.\." segments/);
    expect(ok("/srv//data").join()).toMatch(/write it as "\/srv\/data"/);
    expect(ok("/srv/data/").join()).toMatch(/write it as "\/srv\/data"/);
    expect(ok("/srv/./data").join()).toMatch(/not normalised/);
    expect(ok("").join()).toMatch(/empty/);
    expect(ok("/srv/a\nb").join()).toMatch(/control characters/);
  });

  it("checks the container target too", () => {
    expect(checkMount({ source: "/srv", target: "data" }).join()).toMatch(
      /mount target "data" is not an absolute path/,
    );
    expect(checkMount({ source: "/srv", target: "/" }).join()).toMatch(/container's \//);
    expect(checkMount({ source: "/srv", target: "/proc/x" }).join()).toMatch(/container's \/proc/);
    expect(checkMount({ source: "/srv", target: "/a/../b" }).join()).toMatch(/"\.\."/);
  });

  it("lists every reason of every mount, and duplicate targets", () => {
    const reasons = checkMounts([
      { source: "/srv/a", target: "/data" },
      { source: "/srv/b", target: "/data" },
      { source: "rel", target: "rel" },
    ]);
    expect(reasons).toEqual([
      'mount target "/data" is used twice',
      'mount source "rel" is not an absolute path (it must start with "/")',
      'mount target "rel" is not an absolute path (it must start with "/")',
    ]);
  });

  it("normalises paths and compares prefixes by segment", () => {
    expect(normalizeAbsolutePath("/a/./b//c/../d/")).toBe("/a/b/d");
    expect(normalizeAbsolutePath("/../..")).toBe("/");
    expect(normalizeAbsolutePath("a/b")).toBeUndefined();
    expect(isPathWithin("/etc/x", "/etc")).toBe(true);
    expect(isPathWithin("/etcx", "/etc")).toBe(false);
    expect(isPathWithin("/anything", "/")).toBe(true);
  });
});
