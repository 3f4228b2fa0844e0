import { ManagedMcpSpec } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { CoreError } from "../errors.ts";
import { listPresets, mcpPresetCatalog, optionLikeProblems, PresetError, resolvePreset } from "./mcp-presets.ts";

const refusal = (fn: () => unknown): PresetError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PresetError);
    return error as PresetError;
  }
  throw new Error("expected a PresetError");
};

describe("MCP presets", () => {
  it("offers at least filesystem, git, postgres and brave-search, each fully described", () => {
    const ids = listPresets().map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining(["filesystem", "git", "postgres", "brave-search"]));
    for (const preset of listPresets()) {
      expect(preset.image).toMatch(/^mcp\//);
      expect(preset.description.length).toBeGreaterThan(10);
      expect(preset.user).toBe("65534:65534");
      expect(preset.limits.memoryBytes).toBeGreaterThan(0);
      for (const setting of preset.settings) expect(setting.env ?? setting.args).toBeDefined();
    }
    // The route serialises it as it is.
    expect(JSON.parse(JSON.stringify(mcpPresetCatalog.list()))).toEqual(mcpPresetCatalog.list());
  });

  it("filesystem: each mount's target becomes an allowed directory, read-only by default, no network", () => {
    const spec = resolvePreset("filesystem", {
      name: "files",
      mounts: [
        { source: "/srv/reports", target: "/projects/reports" },
        { source: "/srv/drafts", target: "/projects/drafts", readOnly: false },
      ],
    });
    expect(ManagedMcpSpec.parse(spec)).toEqual(spec);
    expect(spec).toMatchObject({
      kind: "managed",
      name: "files",
      image: "mcp/filesystem",
      args: ["/projects/reports", "/projects/drafts"],
      network: "none",
      user: "65534:65534",
      mounts: [
        { source: "/srv/reports", target: "/projects/reports", readOnly: true },
        { source: "/srv/drafts", target: "/projects/drafts", readOnly: false },
      ],
    });
    expect(spec.limits.memoryBytes).toBe(256 * 1024 * 1024);
  });

  it("git: the repository mount becomes --repository, and git is told to trust a repository it does not own", () => {
    const spec = resolvePreset("git", { name: "repo", mounts: [{ source: "/srv/app", target: "/repo" }] });
    expect(spec.args).toEqual(["--repository", "/repo"]);
    expect(spec.env).toMatchObject({ GIT_CONFIG_KEY_0: "safe.directory", GIT_CONFIG_VALUE_0: "*" });
    expect(spec.network).toBe("none");
    expect(refusal(() => resolvePreset("git", { name: "repo" })).reason).toBe("too_few_mounts");
    const two = [
      { source: "/srv/a", target: "/a" },
      { source: "/srv/b", target: "/b" },
    ];
    expect(refusal(() => resolvePreset("git", { name: "repo", mounts: two })).message).toMatch(/at most 1 mount/);
  });

  it("postgres: the connection string (a secret) is its argument; it needs the network", () => {
    const url = "postgresql://reader:s3cret@db.internal:5432/app";
    const spec = resolvePreset("postgres", { name: "db", settings: { connectionString: url } });
    expect(spec).toMatchObject({ image: "mcp/postgres", args: [url], network: "open", env: {}, mounts: [] });
    const missing = refusal(() => resolvePreset("postgres", { name: "db" }));
    expect(missing.reason).toBe("missing_setting");
    expect(missing.message).toMatch(/needs the setting connectionString .*from a secret/);
    expect(missing).toBeInstanceOf(CoreError);
    expect(missing.code).toBe("validation_failed");
  });

  it("brave-search: the API key goes only into that container's env, never into args", () => {
    const spec = resolvePreset("brave-search", { name: "search", settings: { apiKey: "BSA-key" } });
    expect(spec.env).toEqual({ BRAVE_API_KEY: "BSA-key" });
    expect(spec.args).toEqual([]);
    expect(spec.network).toEqual({ allow: ["api.search.brave.com:443"] });
    const elsewhere = resolvePreset("brave-search", {
      name: "search",
      settings: { apiKey: "k" },
      network: { allow: ["search-proxy.example.com:443"] },
    });
    expect(elsewhere.network).toEqual({ allow: ["search-proxy.example.com:443"] });
    const other = resolvePreset("filesystem", { name: "files", mounts: [{ source: "/srv", target: "/srv" }] });
    expect(JSON.stringify(other)).not.toContain("BSA-key");
    expect(
      refusal(() => resolvePreset("brave-search", { name: "s", settings: { apiKey: "k", api_key: "k" } })).reason,
    ).toBe("unknown_setting");
    expect(
      refusal(() =>
        resolvePreset("brave-search", {
          name: "s",
          settings: { apiKey: "k" },
          mounts: [{ source: "/srv", target: "/d" }],
        }),
      ).message,
    ).toMatch(/takes no mounts/);
  });

  it("refuses an unknown preset with a code, naming the known ones", () => {
    const error = refusal(() => resolvePreset("kubernetes", { name: "k" }));
    expect(error.reason).toBe("unknown_preset");
    expect(error.code).toBe("not_found");
    expect(error.details).toEqual({ reason: "unknown_preset" });
    expect(error.message).toMatch(
      /unknown MCP preset "kubernetes"; known presets: filesystem, git, postgres, brave-search/,
    );
  });

  it("refuses forbidden and relative mounts through the mount policy", () => {
    const socket = refusal(() =>
      resolvePreset("filesystem", { name: "f", mounts: [{ source: "/var/run/docker.sock", target: "/sock" }] }),
    );
    expect(socket.reason).toBe("mount_refused");
    expect(socket.message).toMatch(/Docker socket/);
    expect(
      refusal(() => resolvePreset("filesystem", { name: "f", mounts: [{ source: "/", target: "/host" }] })).message,
    ).toMatch(/whole host/);
    expect(
      refusal(() => resolvePreset("filesystem", { name: "f", mounts: [{ source: "srv", target: "/srv" }] })).message,
    ).toMatch(/not an absolute path/);
  });

  it("refuses what the protocol schema refuses (a bad server name, a bad env name)", () => {
    const mounts = [{ source: "/srv", target: "/srv" }];
    expect(refusal(() => resolvePreset("filesystem", { name: "no spaces", mounts })).reason).toBe("invalid_spec");
    expect(refusal(() => resolvePreset("filesystem", { name: "f", mounts, env: { "1BAD": "x" } })).reason).toBe(
      "invalid_spec",
    );
  });
});

describe("option-like values", () => {
  it("only a preset's template puts options on the command line", () => {
    // git's own template passes --repository: kept.
    expect(resolvePreset("git", { name: "g", mounts: [{ source: "/srv/repo", target: "/repo" }] }).args).toEqual([
      "--repository",
      "/repo",
    ]);
    // The filesystem preset's directory arguments are plain paths: kept.
    expect(resolvePreset("filesystem", { name: "f", mounts: [{ source: "/srv/a", target: "/a" }] }).args).toEqual([
      "/a",
    ]);
    for (const request of [{ args: ["--allow-write"] }, { env: { OPTS: "--privileged" } }]) {
      expect(() =>
        resolvePreset("filesystem", { name: "f", mounts: [{ source: "/srv/a", target: "/a" }], ...request }),
      ).toThrow(/option/);
    }
    expect(optionLikeProblems({ settings: { token: "-x" }, args: ["ok", "-y"] })).toHaveLength(2);
    // Issue 15.6: a leading space (or tab) does not hide an option.
    expect(
      optionLikeProblems({ env: { NODE_OPTIONS: " --inspect=0.0.0.0:9229" }, args: ["\t--allow-write"] }),
    ).toHaveLength(2);
    expect(optionLikeProblems({ env: { GREETING: "hello -x" } })).toHaveLength(0);
  });
});
