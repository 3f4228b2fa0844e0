import { describe, expect, it } from "vitest";
import type { NodeMcpPolicy } from "../api/mcp-ops.ts";
import { imageAllowedOn, installProblems } from "./mcp-install-hints.ts";

const policy: NodeMcpPolicy = {
  mountRoots: ["/srv"],
  mountRwRoots: ["/srv/scratch"],
  allowImages: ["mcp/*", "ghcr.io/acme/tool:1.*"],
  allowOpenNetwork: false,
  allowEgress: [],
  allowRoot: false,
};

describe("install hints from the Node's announced policy", () => {
  it("matches images with the Node's own rules (a whole name component, Docker's normal form)", () => {
    expect(imageAllowedOn(policy, "mcp/filesystem")).toBe(true);
    expect(imageAllowedOn(policy, "docker.io/mcp/git:latest")).toBe(true);
    expect(imageAllowedOn(policy, "mcp/a/b")).toBe(false);
    expect(imageAllowedOn(policy, "ghcr.io/acme/tool:1.4")).toBe(true);
    expect(imageAllowedOn(policy, "ghcr.io/acme/tool:2.0")).toBe(false);
    expect(imageAllowedOn({ ...policy, allowImages: [] }, "anything/at:all")).toBe(true);
  });

  it("names what the Node would refuse: the image, mounts outside its roots, writable ones, open network", () => {
    const problems = installProblems(policy, {
      image: "evil/miner",
      mounts: [
        { source: "/srv/docs/", target: "/a", readOnly: true },
        { source: "/etc/x", target: "/b", readOnly: true },
        { source: "/srv/docs", target: "/c", readOnly: false },
        { source: "/srv/scratch/tmp", target: "/d", readOnly: false },
        { source: "", target: "/e", readOnly: true },
      ],
      network: "open",
    });
    expect(problems).toEqual([
      { field: "image", message: expect.stringMatching(/refuses evil\/miner: it runs only mcp\/\*, ghcr.io/) },
      { field: "mounts", message: "/etc/x is outside this Node's mount roots (/srv, /srv/scratch)." },
      { field: "mounts", message: expect.stringMatching(/^\/srv\/docs cannot be writable: outside \/srv\/scratch/) },
      { field: "network", message: expect.stringContaining("--allow-open-network") },
    ]);
    expect(installProblems(policy, { image: "mcp/filesystem", mounts: [], network: "none" })).toEqual([]);
    expect(
      installProblems(
        { ...policy, mountRoots: [], mountRwRoots: [] },
        {
          mounts: [{ source: "/srv", target: "/d", readOnly: true }],
        },
      ),
    ).toEqual([{ field: "mounts", message: "This Node allows no mounts (start it with --mount-root DIR)." }]);
  });
});
