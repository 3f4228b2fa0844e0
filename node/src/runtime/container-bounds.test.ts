import { ManagedMcpSpec } from "@fabricore/protocol";
import { describe, expect, it } from "vitest";
import { checkContainerBounds, DEFAULT_BOUNDS, internalRange } from "./container-bounds.ts";
import { buildContainerSpec } from "./container-spec.ts";

const spec = (fields: Record<string, unknown>) =>
  ManagedMcpSpec.parse({ kind: "managed", name: "s", image: "mcp/x", ...fields });

const refusal = (fields: Record<string, unknown>, bounds = DEFAULT_BOUNDS) => {
  try {
    checkContainerBounds(spec(fields), bounds);
    return undefined;
  } catch (error) {
    return error as { code: string; message: string };
  }
};

describe("the Node's bounds on container privileges (issue 15.3)", () => {
  it("refuses root, a root group and user names unless --allow-root-containers", () => {
    for (const user of ["0:0", "0", "root", "1000:0", "root:root", "toor"]) {
      expect(refusal({ user })).toMatchObject({
        code: "invalid_spec",
        message: expect.stringContaining("--allow-root-containers"),
      });
      expect(refusal({ user }, { ...DEFAULT_BOUNDS, allowRoot: true })).toBeUndefined();
    }
    expect(refusal({ user: "65534:65534" })).toBeUndefined();
    expect(refusal({})).toBeUndefined();
  });

  it("refuses limits above the Node's caps and names each flag, never clamping", () => {
    const error = refusal({ limits: { memoryBytes: 64 * 1024 ** 3, nanoCpus: 16e9, pids: 1_000_000 } });
    expect(error?.message).toContain("memory 64 GiB exceeds this Node's --max-container-memory 2 GiB");
    expect(error?.message).toContain("cpus 16 exceeds this Node's --max-container-cpus 2");
    expect(error?.message).toContain("pids 1000000 exceeds this Node's --max-container-pids 512");
    expect(refusal({ limits: { memoryBytes: 2 * 1024 ** 3, nanoCpus: 2e9, pids: 512 } })).toBeUndefined();
  });

  it("gives unset limits the defaults, but never above a lower cap", async () => {
    const bounds = { ...DEFAULT_BOUNDS, maxMemoryBytes: 128 * 1024 * 1024, maxPids: 32, maxNanoCpus: 5e8 };
    const { create } = await buildContainerSpec(spec({}), {
      nodeId: "n",
      policy: { mountRoots: [], mountRwRoots: [], allowImages: [], bounds },
    });
    expect(create.HostConfig).toMatchObject({ Memory: 128 * 1024 * 1024, PidsLimit: 32, NanoCpus: 5e8 });
  });

  it("gives the bridge only with --allow-open-network; the legacy `network: true` means open", async () => {
    expect(refusal({ network: true })?.message).toContain("--allow-open-network");
    expect(refusal({ network: "open" })?.message).toContain("--allow-open-network");
    expect(refusal({ network: "open" }, { ...DEFAULT_BOUNDS, allowOpenNetwork: true })).toBeUndefined();
    const allowList = await buildContainerSpec(spec({ network: { allow: ["api.example.com:443"] } }), { nodeId: "n" });
    expect(allowList.create.HostConfig.NetworkMode).toBe("none");
  });

  it("without --allow-egress: any name, but no IP rule into internal ranges", () => {
    expect(
      refusal({ network: { allow: ["api.example.com:443", "*.example.org:443", "93.184.216.34:443"] } }),
    ).toBeUndefined();
    for (const rule of [
      "10.0.0.5:5432",
      "169.254.169.254:80",
      "127.0.0.1:22",
      "[::1]:80",
      "[fe80::1]:80",
      "0.0.0.0/0:443",
    ]) {
      expect(refusal({ network: { allow: [rule] } })?.message).toContain("--allow-egress");
    }
  });

  it("with --allow-egress: every rule must be covered by one of them", () => {
    const bounds = { ...DEFAULT_BOUNDS, allowEgress: ["*.example.com:443", "10.1.0.0/16:5432"] };
    expect(
      refusal({ network: { allow: ["api.example.com:443", "*.a.example.com:443", "10.1.2.3:5432"] } }, bounds),
    ).toBeUndefined();
    for (const rule of ["example.com:443", "api.example.com:80", "evil.com:443", "10.2.0.1:5432", "10.0.0.0/8:5432"]) {
      expect(refusal({ network: { allow: [rule] } }, bounds)?.message).toContain("outside this Node's --allow-egress");
    }
  });

  it("classifies internal addresses, IPv4-mapped ones included", () => {
    expect(internalRange("169.254.169.254", 4)).toBe("link-local");
    expect(internalRange("::ffff:127.0.0.1", 6)).toBe("loopback");
    expect(internalRange("fd00:ec2::254", 6)).toBe("unique-local");
    expect(internalRange("100.100.100.200", 4)).toBe("carrier-grade NAT");
    expect(internalRange("8.8.8.8", 4)).toBeUndefined();
    expect(internalRange("2606:4700::1111", 6)).toBeUndefined();
  });
});
