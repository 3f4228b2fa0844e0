import {
  type EgressTarget,
  egressCovers,
  ipInRange,
  type ManagedMcpSpec,
  type McpNetwork,
  parseEgressRule,
} from "@fabricore/protocol";
import { RuntimeError } from "./errors.ts";

/**
 * The Node's bounds on a managed container's privileges (issue 15 item 3): what a Core's sync may
 * ask for, whoever sent it. A spec above a bound is refused with an error naming the flag — never
 * clamped, because a silently shrunk container fails later in ways nobody can explain.
 */
export interface ContainerBounds {
  /** uid 0 / gid 0 (or a user name the Node cannot check) only with --allow-root-containers. */
  allowRoot: boolean;
  maxMemoryBytes: number;
  maxNanoCpus: number;
  maxPids: number;
  /** `network: "open"` (a bridge, every host) only with --allow-open-network. */
  allowOpenNetwork: boolean;
  /** --allow-egress patterns; empty: any name, and IP rules only for public addresses. */
  allowEgress: readonly string[];
}

const GiB = 1024 * 1024 * 1024;

/** Generous for an MCP server, small enough that one compromised sync cannot take the host's memory. */
export const DEFAULT_BOUNDS: ContainerBounds = {
  allowRoot: false,
  maxMemoryBytes: 2 * GiB,
  maxNanoCpus: 2_000_000_000,
  maxPids: 512,
  allowOpenNetwork: false,
  allowEgress: [],
};

/** Address ranges that reach inside a network rather than the internet; never through the proxy
 * unless a rule lists them by IP. Includes the cloud metadata addresses (169.254.169.254 is
 * link-local, fd00:ec2::254 unique-local, Alibaba's 100.100.100.200 carrier-grade NAT). */
export const INTERNAL_RANGES: ReadonlyArray<{ address: string; prefix: number; version: 4 | 6; name: string }> = [
  { address: "0.0.0.0", prefix: 8, version: 4, name: "this-network" },
  { address: "10.0.0.0", prefix: 8, version: 4, name: "private (RFC 1918)" },
  { address: "100.64.0.0", prefix: 10, version: 4, name: "carrier-grade NAT" },
  { address: "127.0.0.0", prefix: 8, version: 4, name: "loopback" },
  { address: "169.254.0.0", prefix: 16, version: 4, name: "link-local" },
  { address: "172.16.0.0", prefix: 12, version: 4, name: "private (RFC 1918)" },
  { address: "192.0.0.0", prefix: 24, version: 4, name: "IETF protocol assignments" },
  { address: "192.168.0.0", prefix: 16, version: 4, name: "private (RFC 1918)" },
  { address: "224.0.0.0", prefix: 4, version: 4, name: "multicast" },
  { address: "240.0.0.0", prefix: 4, version: 4, name: "reserved" },
  { address: "::", prefix: 128, version: 6, name: "unspecified" },
  { address: "::1", prefix: 128, version: 6, name: "loopback" },
  { address: "fc00::", prefix: 7, version: 6, name: "unique-local" },
  { address: "fe80::", prefix: 10, version: 6, name: "link-local" },
  { address: "ff00::", prefix: 8, version: 6, name: "multicast" },
];

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries. */
export function unmapIpv4(address: string): string {
  const match = address.toLowerCase().match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  return match?.[1] ?? address;
}

/** The internal range an address falls in, or undefined for a public one. */
export function internalRange(address: string, version: 4 | 6): string | undefined {
  const plain = unmapIpv4(address);
  const family: 4 | 6 = plain === address ? version : 4;
  return INTERNAL_RANGES.find((range) => range.version === family && ipInRange(plain, range))?.name;
}

function isRootUser(user: string): boolean {
  const [name = "", group] = user.split(":");
  return name === "" || name === "0" || name === "root" || group === "0" || group === "root";
}

const gib = (bytes: number) => `${(bytes / GiB).toFixed(bytes % GiB === 0 ? 0 : 2)} GiB`;

function parsedRules(rules: readonly string[], source: string): EgressTarget[] {
  return rules.map((rule) => {
    const parsed = parseEgressRule(rule);
    if (!parsed.ok) throw new RuntimeError("invalid_spec", `${source}: ${parsed.reason}`);
    return parsed.target;
  });
}

/** Each rule of an allow list against --allow-egress (or, without it, against the internal ranges). */
function networkProblems(network: McpNetwork, bounds: ContainerBounds): string[] {
  if (network === "none") return [];
  if (network === "open") {
    return bounds.allowOpenNetwork
      ? []
      : ['network "open" refused: this Node gives containers no unrestricted network (--allow-open-network)'];
  }
  const nodeRules = parsedRules(bounds.allowEgress, "--allow-egress");
  const problems: string[] = [];
  for (const rule of network.allow) {
    const parsed = parseEgressRule(rule);
    if (!parsed.ok) {
      problems.push(`egress rule ${parsed.reason}`);
      continue;
    }
    const target = parsed.target;
    if (nodeRules.length > 0) {
      if (!nodeRules.some((allowed) => egressCovers(allowed, target))) {
        problems.push(
          `egress rule ${JSON.stringify(rule)} is outside this Node's --allow-egress (${bounds.allowEgress.join(", ")})`,
        );
      }
    } else if (target.kind === "ip") {
      const range = internalRange(target.address, target.version);
      if (range !== undefined || (target.version === 4 ? target.prefix < 8 : target.prefix < 16)) {
        problems.push(
          `egress rule ${JSON.stringify(rule)} reaches ${range ?? "a very wide range"} addresses: ` +
            "this Node allows that only when an --allow-egress pattern covers it",
        );
      }
    }
  }
  return problems;
}

/** Throws `invalid_spec` listing every bound the spec exceeds. */
export function checkContainerBounds(spec: ManagedMcpSpec, bounds: ContainerBounds): void {
  const problems: string[] = [];
  if (spec.user !== undefined && !bounds.allowRoot) {
    if (isRootUser(spec.user)) {
      problems.push(
        `user ${JSON.stringify(spec.user)} refused: this Node runs no container as root (--allow-root-containers)`,
      );
    } else if (!/^\d+(:\d+)?$/.test(spec.user)) {
      // A name resolves inside the image (a "toor" entry can be uid 0), which the Node cannot see first.
      problems.push(
        `user ${JSON.stringify(spec.user)} refused: give a numeric uid:gid (a name could be root in the image; --allow-root-containers)`,
      );
    }
  }
  const { memoryBytes, nanoCpus, pids } = spec.limits;
  if (memoryBytes !== undefined && memoryBytes > bounds.maxMemoryBytes) {
    problems.push(
      `memory ${gib(memoryBytes)} exceeds this Node's --max-container-memory ${gib(bounds.maxMemoryBytes)}`,
    );
  }
  if (nanoCpus !== undefined && nanoCpus > bounds.maxNanoCpus) {
    problems.push(`cpus ${nanoCpus / 1e9} exceeds this Node's --max-container-cpus ${bounds.maxNanoCpus / 1e9}`);
  }
  if (pids !== undefined && pids > bounds.maxPids) {
    problems.push(`pids ${pids} exceeds this Node's --max-container-pids ${bounds.maxPids}`);
  }
  problems.push(...networkProblems(spec.network, bounds));
  if (problems.length > 0) throw new RuntimeError("invalid_spec", `refused by this Node: ${problems.join("; ")}`);
}
