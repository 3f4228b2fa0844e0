import { describe, expect, it } from "vitest";
import { type BuildPushOptions, pushRebuiltBuild } from "./node-build-push.ts";

function options(overrides: Partial<BuildPushOptions> = {}) {
  const offers: Array<[string, string]> = [];
  const logs: string[] = [];
  const o: BuildPushOptions = {
    policy: "auto",
    connected: () => [
      { nodeId: "n1", name: "old", version: "1.0.0" },
      { nodeId: "n2", name: "current", version: "1.1.0" },
      { nodeId: "n3", name: "gone", version: "1.0.0" },
      { nodeId: "n4", name: "other", version: "0.9.0" },
    ],
    rolloutActive: () => false,
    // n3 dropped its connection between the list and the offer.
    offer: (nodeId, version) => {
      if (nodeId === "n3") return false;
      offers.push([nodeId, version]);
      return true;
    },
    logger: { info: (_fields: unknown, message?: string) => void logs.push(String(message)) },
    ...overrides,
  };
  return { o, offers, logs };
}

describe("pushRebuiltBuild", () => {
  it("auto: offers the new version to every Node connected here on another version", () => {
    const { o, offers } = options();
    expect(pushRebuiltBuild(o, "1.1.0")).toEqual(["n1", "n4"]);
    expect(offers).toEqual([
      ["n1", "1.1.0"],
      ["n4", "1.1.0"],
    ]);
  });

  it("staged: nothing is pushed; the admin's rollout offers it", () => {
    const { o, offers, logs } = options({ policy: "staged" });
    expect(pushRebuiltBuild(o, "1.1.0")).toEqual([]);
    expect(offers).toEqual([]);
    expect(logs[0]).toContain("staged policy");
  });

  it("an active rollout decides alone, even under auto", () => {
    const { o, offers } = options({ rolloutActive: () => true });
    expect(pushRebuiltBuild(o, "1.1.0")).toEqual([]);
    expect(offers).toEqual([]);
  });
});
