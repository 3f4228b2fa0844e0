import { ImageRuleError, imageAllowedBy, parseImageReference, parseImageRule } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { loadNodeSettings } from "../env.ts";
import { imageAllowed } from "./node-policy.ts";

const rules = (...sources: string[]) => sources.map(parseImageRule);

describe("--allow-image rules (issue 21.10)", () => {
  it("reads references in Docker's normal form", () => {
    expect(parseImageReference("mcp/filesystem")).toEqual({ name: "docker.io/mcp/filesystem" });
    expect(parseImageReference("node:24")).toEqual({ name: "docker.io/library/node", tag: "24" });
    expect(parseImageReference("index.docker.io/mcp/git:1")).toEqual({ name: "docker.io/mcp/git", tag: "1" });
    expect(parseImageReference("localhost:5000/a/b:2")).toEqual({ name: "localhost:5000/a/b", tag: "2" });
    expect(parseImageReference("ghcr.io/acme/tool@sha256:ab")).toEqual({
      name: "ghcr.io/acme/tool",
      digest: "sha256:ab",
    });
  });

  it("refuses a rule whose * is part of a name component, at start", () => {
    expect(() => parseImageRule("mcp/filesystem*")).toThrow(ImageRuleError);
    expect(() => parseImageRule("mcp/filesystem*")).toThrow(/whole name component/);
    expect(() => parseImageRule("ghcr.io/ac*/tool")).toThrow(/whole name component/);
    const start = () =>
      loadNodeSettings(
        ["--core", "https://core.example", "--allow-image", "mcp/filesystem*"],
        {},
        { isRoot: false, homeDir: "/h", isDirectory: () => true },
      );
    expect(start).toThrow(/--allow-image "mcp\/filesystem\*"/);
  });

  it("matches a name exactly: mcp/filesystem does not admit mcp/filesystem-evil", () => {
    const allow = rules("mcp/filesystem");
    expect(imageAllowedBy("mcp/filesystem", allow)).toBe(true);
    expect(imageAllowedBy("mcp/filesystem:latest", allow)).toBe(true);
    expect(imageAllowedBy("docker.io/mcp/filesystem:1.2", allow)).toBe(true);
    expect(imageAllowedBy("mcp/filesystem@sha256:ab", allow)).toBe(true);
    expect(imageAllowedBy("mcp/filesystem-evil", allow)).toBe(false);
    expect(imageAllowedBy("mcp/filesystem/evil", allow)).toBe(false);
    expect(imageAllowedBy("evil.io/mcp/filesystem", allow)).toBe(false);
    // The same through the policy check the runtime calls.
    expect(imageAllowed("mcp/filesystem-evil", ["mcp/filesystem"])).toBe(false);
    expect(imageAllowed("mcp/filesystem-evil", ["mcp/filesystem*"])).toBe(false);
  });

  it("takes * as one whole component, and globs in the tag", () => {
    const allow = rules("mcp/*", "ghcr.io/acme/tool:1.*", "fabricore-test/echo:latest");
    expect(imageAllowedBy("mcp/git", allow)).toBe(true);
    expect(imageAllowedBy("mcp/a/b", allow)).toBe(false);
    expect(imageAllowedBy("ghcr.io/acme/tool:1.4", allow)).toBe(true);
    expect(imageAllowedBy("ghcr.io/acme/tool:2.0", allow)).toBe(false);
    expect(imageAllowedBy("ghcr.io/acme/tool", allow)).toBe(false);
    expect(imageAllowedBy("ghcr.io/acme/tool@sha256:ab", allow)).toBe(false);
    expect(imageAllowedBy("fabricore-test/echo", allow)).toBe(true);
    expect(imageAllowedBy("fabricore-test/echo:evil", allow)).toBe(false);
    expect(imageAllowedBy("anything", [])).toBe(true);
  });

  it("matches a digest rule exactly", () => {
    const allow = rules("ghcr.io/acme/tool@sha256:ab");
    expect(imageAllowedBy("ghcr.io/acme/tool@sha256:ab", allow)).toBe(true);
    expect(imageAllowedBy("ghcr.io/acme/tool@sha256:cd", allow)).toBe(false);
    expect(imageAllowedBy("ghcr.io/acme/tool:latest", allow)).toBe(false);
  });
});
