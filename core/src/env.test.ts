import { describe, expect, it } from "vitest";
import { loadCoreEnv, SettingsError } from "./env.ts";

describe("loadCoreEnv", () => {
  it("applies the CONTRACT defaults", () => {
    const env = loadCoreEnv({});
    expect(env.FABRICORE_HOST).toBe("127.0.0.1");
    expect(env.FABRICORE_PORT).toBe(8080);
    expect(env.dataDir.endsWith("/data")).toBe(true);
    expect(env.FABRICORE_REDIS_URL).toBeUndefined();
  });

  it("lists every problem at once", () => {
    let error: unknown;
    try {
      loadCoreEnv({ FABRICORE_PORT: "99999", FABRICORE_DATABASE_URL: "mysql://x", FABRICORE_ADMIN_PASSWORD: "short" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    expect(message).toContain("FABRICORE_PORT");
    expect(message).toContain("FABRICORE_DATABASE_URL");
    expect(message).toContain("FABRICORE_ADMIN_PASSWORD");
  });

  it("treats empty values as unset", () => {
    expect(loadCoreEnv({ FABRICORE_DATABASE_URL: "" }).FABRICORE_DATABASE_URL).toBeUndefined();
  });
});
