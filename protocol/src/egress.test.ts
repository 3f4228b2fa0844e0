import { describe, expect, it } from "vitest";
import { EgressRule, egressCovers, ipInRange, ManagedMcpSpec, parseEgressRule } from "./index.ts";

const target = (rule: string) => {
  const parsed = parseEgressRule(rule);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.target;
};

describe("egress rules", () => {
  it("parses names, wildcards, IPs and CIDRs, each with a port", () => {
    expect(target("API.Example.com:443")).toEqual({ kind: "host", host: "api.example.com", port: 443 });
    expect(target("*.example.com:443")).toEqual({ kind: "wildcard", suffix: "example.com", port: 443 });
    expect(target("10.0.0.0/8:5432")).toEqual({ kind: "ip", address: "10.0.0.0", prefix: 8, version: 4, port: 5432 });
    expect(target("[fd00::1]:8443")).toMatchObject({ kind: "ip", prefix: 128, version: 6 });
  });

  it("refuses a bare *, schemes, missing or out-of-range ports and malformed hosts", () => {
    for (const rule of [
      "*",
      "*:443",
      "https://api.example.com:443",
      "api.example.com",
      "a.com:0",
      "a.com:65536",
      "a.com:x",
      "a*.com:443",
      "*.*.com:443",
      "1.2.3:80",
      "300.1.1.1:80",
      "fd00::1:443",
      "a.com/x:443",
      "user@a.com:443",
      "",
    ]) {
      expect(EgressRule.safeParse(rule).success, rule).toBe(false);
    }
  });

  it("checks a network value in the spec and keeps the legacy booleans", () => {
    const network = (value: unknown) =>
      ManagedMcpSpec.safeParse({ kind: "managed", name: "s", image: "i", network: value });
    expect(network(undefined).data?.network).toBe("none");
    expect(network(false).data?.network).toBe("none");
    expect(network(true).data?.network).toBe("open");
    expect(network({ allow: ["a.com:443"] }).success).toBe(true);
    expect(network({ allow: [] }).success).toBe(false);
    expect(network({ allow: ["a.com:443"], extra: 1 }).success).toBe(false);
    expect(network("bridge").success).toBe(false);
  });

  it("decides coverage (what a Node allows against what a spec asks for)", () => {
    expect(egressCovers(target("*.example.com:443"), target("a.b.example.com:443"))).toBe(true);
    expect(egressCovers(target("*.example.com:443"), target("example.com:443"))).toBe(false);
    expect(egressCovers(target("*.example.com:443"), target("a.example.com:80"))).toBe(false);
    expect(egressCovers(target("10.0.0.0/8:22"), target("10.9.0.0/16:22"))).toBe(true);
    expect(egressCovers(target("10.9.0.0/16:22"), target("10.0.0.0/8:22"))).toBe(false);
    expect(ipInRange("fe80::1:2", { address: "fe80::", prefix: 10, version: 6 })).toBe(true);
    expect(ipInRange("::ffff:10.0.0.1", { address: "::ffff:0:0", prefix: 96, version: 6 })).toBe(true);
  });
});
