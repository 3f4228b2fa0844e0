import { describe, expect, it } from "vitest";
import { loadNodeSettings, SettingsError, type SettingsHost } from "./env.ts";

const host: SettingsHost = { isRoot: false, homeDir: "/home/u", isDirectory: (p) => p.startsWith("/srv") };
const TOKEN = "fcn_abc123";

function run(argv: string[], env: Record<string, string> = {}) {
  const result = loadNodeSettings(argv, env, host);
  if (result.kind !== "run") throw new Error(`expected run, got ${result.kind}`);
  return result.settings;
}

describe("Node settings", () => {
  it("reads flags and derives the WebSocket URL", () => {
    const s = run([
      "--core",
      "https://core.example:8443/",
      "--token",
      TOKEN,
      "--read-root",
      "/srv/a",
      "--read-root=/srv/b",
      "--allow-exec",
    ]);
    expect(s.connectUrl).toBe("wss://core.example:8443/api/nodes/connect");
    expect(s.readRoots).toEqual(["/srv/a", "/srv/b"]);
    expect(s.allowExec).toBe(true);
    expect(s.dockerSocket).toBe("/var/run/docker.sock");
    expect(s.dataDir).toBe("/home/u/.fabricore-node");
  });

  it("reads the environment; flags win", () => {
    const env = {
      FABRICORE_CORE_URL: "http://127.0.0.1:8080",
      FABRICORE_NODE_TOKEN: TOKEN,
      FABRICORE_READ_ROOTS: "/srv/x::/srv/y",
      FABRICORE_ALLOW_EXEC: "1",
      DOCKER_HOST: "unix:///run/docker.sock",
    };
    const s = run([], env);
    expect(s.connectUrl).toBe("ws://127.0.0.1:8080/api/nodes/connect");
    expect(s.readRoots).toEqual(["/srv/x", "/srv/y"]);
    expect(s.allowExec).toBe(true);
    expect(s.dockerSocket).toBe("/run/docker.sock");
    expect(run(["--read-root", "/srv/z"], env).readRoots).toEqual(["/srv/z"]);
  });

  it("takes several Core URLs (cluster replicas): --core repeated, or FABRICORE_CORE_URL comma-separated", () => {
    const flags = run(["--core", "http://a:8080", "--core=https://b:8443", "--token", TOKEN, "--insecure"]);
    expect(flags.coreUrls).toEqual(["http://a:8080", "https://b:8443"]);
    expect(flags.connectUrls).toEqual(["ws://a:8080/api/nodes/connect", "wss://b:8443/api/nodes/connect"]);
    expect(flags.connectUrl).toBe("ws://a:8080/api/nodes/connect");
    const env = run([], {
      FABRICORE_CORE_URL: " http://a:1 ,http://b:2,,http://a:1",
      FABRICORE_NODE_TOKEN: TOKEN,
      FABRICORE_INSECURE: "1",
    });
    expect(env.coreUrls).toEqual(["http://a:1", "http://b:2"]);
    expect(() => run(["--core", "http://a:1", "--core", "ftp://b", "--token", TOKEN, "--insecure"])).toThrow(
      /coreUrls\.1/,
    );
  });

  it("uses /var/lib/fabricore-node as root", () => {
    const result = loadNodeSettings(["--core", "http://127.0.0.1:1", "--token", TOKEN], {}, { ...host, isRoot: true });
    expect(result.kind === "run" && result.settings.dataDir).toBe("/var/lib/fabricore-node");
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      loadNodeSettings(
        ["--core", "ftp://x", "--bogus", "--read-root", "/nope", "extra"],
        { FABRICORE_ALLOW_EXEC: "maybe" },
        host,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const problems = (error as SettingsError).problems.join("\n");
    expect(problems).toContain("--bogus: unknown flag");
    expect(problems).toContain('unexpected argument "extra"');
    expect(problems).toContain("read root /nope");
    expect(problems).toContain("FABRICORE_ALLOW_EXEC");
    expect(problems).toContain("coreUrl");
  });

  it("makes the token optional (an enrolled Node proves itself with its key) but checks its shape", () => {
    expect(run(["--core", "http://127.0.0.1:8080"]).token).toBeUndefined();
    expect(() => run(["--core", "http://127.0.0.1:8080", "--token", "nope"])).toThrow(/fcn_/);
  });

  it("refuses plain http:// to a Core off loopback unless --insecure", () => {
    expect(() => run(["--core", "http://core.example:8080"])).toThrow(/plain http:\/\/.*--insecure/s);
    expect(() => run(["--core", "http://10.0.0.5:8080"])).toThrow(/--insecure/);
    expect(run(["--core", "http://core.example:8080", "--insecure"]).insecure).toBe(true);
    expect(run(["--core", "http://core.example:8080"], { FABRICORE_INSECURE: "1" }).insecure).toBe(true);
    for (const loopback of ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"]) {
      expect(run(["--core", loopback]).insecure).toBe(false);
    }
    expect(run(["--core", "https://core.example", "--ca", "/srv/ca.pem"]).caFile).toBe("/srv/ca.pem");
  });

  it("reads the Node policy flags: mount roots, image allowlist, anchored exec allowlist", () => {
    const s = run([
      "--core",
      "https://core.example",
      "--mount-root",
      "/srv/data",
      "--mount-rw-root",
      "/srv/scratch",
      "--allow-image",
      "mcp/*",
      "--allow-image=ghcr.io/acme/*",
      "--exec-allow",
      "df( -h)?",
      "--exec-allow",
      "uptime",
    ]);
    expect(s.mountRoots).toEqual(["/srv/data", "/srv/scratch"]);
    expect(s.mountRwRoots).toEqual(["/srv/scratch"]);
    expect(s.allowImages).toEqual(["mcp/*", "ghcr.io/acme/*"]);
    expect(s.execAllow.some((re) => re.test("df -h"))).toBe(true);
    // Anchored: a pattern names whole commands, not a prefix a shell could extend.
    expect(s.execAllow.some((re) => re.test("df -h; rm -rf /"))).toBe(false);
    const env = run(["--core", "https://core.example"], {
      FABRICORE_MOUNT_ROOTS: "/srv/a:/srv/b",
      FABRICORE_ALLOW_IMAGES: "mcp/filesystem, mcp/git",
      FABRICORE_EXEC_ALLOW: "uptime\nfree -m",
    });
    expect(env.mountRoots).toEqual(["/srv/a", "/srv/b"]);
    expect(env.allowImages).toEqual(["mcp/filesystem", "mcp/git"]);
    expect(env.execAllow).toHaveLength(2);
    expect(() => run(["--core", "https://core.example", "--mount-root", "/nope"])).toThrow(/--mount-root \/nope/);
    expect(() => run(["--core", "https://core.example", "--exec-allow", "("])).toThrow(/not a regular expression/);
  });

  it("reads --allow-shell: it implies --allow-exec and refuses --exec-allow beside it", () => {
    const base = ["--core", "https://core.example"];
    expect(run([...base, "--allow-exec"])).toMatchObject({ allowExec: true, allowShell: false });
    expect(run([...base, "--allow-shell"])).toMatchObject({ allowExec: true, allowShell: true });
    expect(run(base, { FABRICORE_ALLOW_SHELL: "1" })).toMatchObject({ allowExec: true, allowShell: true });
    expect(run(base)).toMatchObject({ allowExec: false, allowShell: false });
    expect(() => run([...base, "--allow-shell", "--exec-allow", "ls .*"])).toThrow(/cannot bound what a shell runs/);
    expect(() => run(base, { FABRICORE_ALLOW_SHELL: "1", FABRICORE_EXEC_ALLOW: "df" })).toThrow(/--allow-shell with/);
  });

  it("reads the container bounds with safe defaults, and refuses bad values", () => {
    const core = ["--core", "http://127.0.0.1:8080"];
    const defaults = run(core);
    expect(defaults).toMatchObject({
      allowRootContainers: false,
      maxContainerMemoryBytes: 2 * 1024 ** 3,
      maxContainerNanoCpus: 2e9,
      maxContainerPids: 512,
      allowOpenNetwork: false,
      allowEgress: [],
    });
    const s = run(
      [
        ...core,
        "--max-container-memory",
        "512m",
        "--max-container-cpus",
        "0.5",
        "--allow-egress",
        "*.example.com:443",
        "--allow-open-network",
      ],
      {
        FABRICORE_MAX_CONTAINER_PIDS: "64",
        FABRICORE_ALLOW_ROOT_CONTAINERS: "1",
        FABRICORE_ALLOW_EGRESS: "ignored.com:1",
      },
    );
    expect(s).toMatchObject({
      allowRootContainers: true,
      maxContainerMemoryBytes: 512 * 1024 ** 2,
      maxContainerNanoCpus: 5e8,
      maxContainerPids: 64,
      allowOpenNetwork: true,
      allowEgress: ["*.example.com:443"],
    });
    let error: SettingsError | undefined;
    try {
      loadNodeSettings(
        [
          ...core,
          "--max-container-memory",
          "lots",
          "--max-container-cpus",
          "-1",
          "--max-container-pids",
          "0",
          "--allow-egress",
          "*",
        ],
        {},
        host,
      );
    } catch (e) {
      error = e as SettingsError;
    }
    expect(error?.problems.join("\n")).toMatch(
      /max-container-memory[\s\S]*max-container-cpus[\s\S]*max-container-pids[\s\S]*bare \*/,
    );
  });

  it("notices a flag swallowed as a value", () => {
    expect(() => loadNodeSettings(["--core", "--token", TOKEN], {}, host)).toThrow(/--core: needs a value/);
  });

  it("answers --help and --version before validating", () => {
    expect(loadNodeSettings(["--help"], {}, host)).toEqual({ kind: "help" });
    expect(loadNodeSettings(["--version"], {}, host)).toEqual({ kind: "version" });
  });
});
