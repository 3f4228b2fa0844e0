import { describe, expect, it } from "vitest";
import { claudeDesktopConfig, lmStudioDeepLink, mcpJson, mcpTokenBody, vsCodeConfig } from "./mcp-client-config.ts";

const target = { name: "fabricore", url: "https://core.example.com/mcp", token: "fct_abc" };
const entry = { url: target.url, headers: { Authorization: "Bearer fct_abc" } };

describe("client configs", () => {
  it("mcp.json (LM Studio, Cursor) has the entry under mcpServers", () => {
    expect(JSON.parse(mcpJson(target))).toEqual({ mcpServers: { fabricore: entry } });
  });

  it("the LM Studio deep link carries the entry, not the whole file, as base64 JSON", () => {
    const link = new URL(lmStudioDeepLink(target));
    expect(link.protocol).toBe("lmstudio:");
    expect(link.host + link.pathname).toBe("add_mcp");
    expect(link.searchParams.get("name")).toBe("fabricore");
    const config = link.searchParams.get("config") ?? "";
    expect(JSON.parse(Buffer.from(config, "base64").toString("utf8"))).toEqual(entry);
  });

  it("the deep link survives characters outside Latin-1 (btoa alone would throw)", () => {
    const link = new URL(lmStudioDeepLink({ ...target, url: "https://cœur.example/mcp", name: "flotte-é" }));
    expect(link.searchParams.get("name")).toBe("flotte-é");
    const decoded = JSON.parse(Buffer.from(link.searchParams.get("config") ?? "", "base64").toString("utf8"));
    expect(decoded.url).toBe("https://cœur.example/mcp");
  });

  it("Claude Desktop goes through mcp-remote, the token in env and no space in the header argument", () => {
    const config = JSON.parse(claudeDesktopConfig(target)).mcpServers.fabricore;
    expect(config).toEqual({
      command: "npx",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: mcp-remote's own placeholder
      args: ["-y", "mcp-remote", target.url, "--header", "Authorization:${AUTH_HEADER}"],
      env: { AUTH_HEADER: "Bearer fct_abc" },
    });
    expect(config.args.some((a: string) => a.includes(" "))).toBe(false);
  });

  it("adds --allow-http only for plain http off this machine", () => {
    const args = (url: string) => JSON.parse(claudeDesktopConfig({ ...target, url })).mcpServers.fabricore.args;
    expect(args("http://10.0.0.5:8080/mcp")).toContain("--allow-http");
    expect(args("http://127.0.0.1:8080/mcp")).not.toContain("--allow-http");
    expect(args("http://localhost:8080/mcp")).not.toContain("--allow-http");
    expect(args("https://core.example.com/mcp")).not.toContain("--allow-http");
  });

  it("VS Code's mcp.json uses servers with type http", () => {
    expect(JSON.parse(vsCodeConfig(target))).toEqual({ servers: { fabricore: { type: "http", ...entry } } });
  });
});

describe("mcpTokenBody", () => {
  const form = {
    name: " lm-studio ",
    role: "admin" as const,
    ownRole: "admin" as const,
    selector: "",
    tools: [],
    approval: "none" as const,
    approvalTools: [],
  };

  it("sends only the name when nothing narrows the token", () => {
    expect(mcpTokenBody(form)).toEqual({ name: "lm-studio" });
  });

  it("sends a lower role, the scopes and the approval policy asked for", () => {
    expect(
      mcpTokenBody({ ...form, role: "viewer", selector: " env=staging ", tools: ["read_file"], approval: "all" }),
    ).toEqual({
      name: "lm-studio",
      role: "viewer",
      scopes: { selector: "env=staging", tools: ["read_file"] },
      mcpApproval: { required: true },
    });
    expect(mcpTokenBody({ ...form, approval: "tools", approvalTools: ["exec_command"] })).toEqual({
      name: "lm-studio",
      mcpApproval: { tools: ["exec_command"] },
    });
  });

  it("'some tools' with none named holds nothing rather than everything", () => {
    expect(mcpTokenBody({ ...form, approval: "tools" })).toEqual({ name: "lm-studio" });
  });
});
