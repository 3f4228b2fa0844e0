import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configPath, resolveConnection, writeConfig } from "./config.ts";
import { CliError } from "./errors.ts";
import { duration, table } from "./table.ts";

describe("config", () => {
  it("lives in XDG_CONFIG_HOME (else ~/.config), written 0600", () => {
    const home = mkdtempSync(join(tmpdir(), "fabricore-cli-"));
    expect(configPath({ HOME: home })).toBe(join(home, ".config", "fabricore", "config.json"));
    const env = { XDG_CONFIG_HOME: join(home, "xdg") };
    const path = writeConfig({ url: "http://core:8080", token: "t1" }, env);
    expect(path).toBe(join(home, "xdg", "fabricore", "config.json"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ url: "http://core:8080", token: "t1" });
  });

  it("takes flags over the environment over the file, and says what is missing", () => {
    const env: Record<string, string | undefined> = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "fabricore-cli-")) };
    expect(() => resolveConnection({}, env)).toThrow(/no Core URL: set FABRICORE_URL/);
    writeConfig({ url: "http://file:1", token: "file-token" }, env);
    expect(resolveConnection({}, env)).toEqual({ url: "http://file:1", token: "file-token" });
    env.FABRICORE_URL = "http://env:2/";
    expect(resolveConnection({}, env)).toEqual({ url: "http://env:2", token: "file-token" });
    env.FABRICORE_TOKEN = "env-token";
    expect(resolveConnection({ token: "flag-token" }, env)).toEqual({ url: "http://env:2", token: "flag-token" });
    expect(() => resolveConnection({ url: "ftp://x" }, env)).toThrow(CliError);
  });

  it("names a broken config file", () => {
    const env = { XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "fabricore-cli-")) };
    writeConfig({ url: "http://x:1", token: "t" }, env);
    writeFileSync(configPath(env), "{not json");
    expect(() => resolveConnection({}, env)).toThrow(/config\.json is not JSON/);
  });
});

describe("table", () => {
  it("pads every column but the last, and colours after measuring", () => {
    expect(
      table(
        ["A", "LONGER"],
        [
          ["xx", "1"],
          ["y", ""],
        ],
      ),
    ).toBe("A   LONGER\nxx  1\ny\n");
    expect(table(["S", "T"], [["ok", "z"]], (c, cell) => (c === 0 ? `<${cell}>` : cell))).toBe("S   T\n<ok>  z\n");
    expect(duration("2026-01-01T00:00:00Z", "2026-01-01T00:03:12Z")).toBe("3m 12s");
    expect(duration(null, null)).toBe("");
  });
});
