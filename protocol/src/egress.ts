import { z } from "zod";
import { lazySchema } from "./lazy-schema.ts";

/*
 * Egress rules of a managed MCP server (CONTRACT "MCP containers and the network"): which hosts and
 * ports its container may reach through the Node's egress proxy. One rule is `host:port`,
 * `*.domain:port`, `IP:port`, `CIDR:port`, or the IPv6 forms in brackets (`[fd00::1]:443`,
 * `[fd00::/64]:443`). A port is always required: there is no "any port", and no bare `*` host.
 */

/** One parsed rule. Names are lower case; `wildcard` matches names strictly below `suffix`. */
export type EgressTarget =
  | { kind: "host"; host: string; port: number }
  | { kind: "wildcard"; suffix: string; port: number }
  | { kind: "ip"; address: string; prefix: number; version: 4 | 6; port: number };

export type EgressParse = { ok: true; target: EgressTarget } | { ok: false; reason: string };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const ipv4 = lazySchema(() => z.ipv4());
const ipv6 = lazySchema(() => z.ipv6());
const cidrv4 = lazySchema(() => z.cidrv4());
const cidrv6 = lazySchema(() => z.cidrv6());

function parsePort(text: string): number | string {
  if (!/^\d{1,5}$/.test(text)) return `port ${JSON.stringify(text)} is not a number`;
  const port = Number(text);
  if (port < 1 || port > 65535) return `port ${port} is out of range (1-65535)`;
  return port;
}

function hostProblem(host: string): string | undefined {
  if (host.length > 253) return "host name longer than 253 characters";
  const labels = host.split(".");
  if (!labels.every((label) => LABEL.test(label))) return `${JSON.stringify(host)} is not a host name`;
  // "1.2.3" or "10.0.0.999" is a malformed address, not a name; refuse it rather than resolve it.
  if (/^\d+$/.test(labels[labels.length - 1] ?? "")) return `${JSON.stringify(host)} is not a valid IP address`;
  return undefined;
}

function ipTarget(text: string, port: number): EgressTarget | undefined {
  const [address = "", prefixText] = text.split("/");
  if (prefixText === undefined) {
    if (ipv4.safeParse(address).success) return { kind: "ip", address, prefix: 32, version: 4, port };
    if (ipv6.safeParse(address).success)
      return { kind: "ip", address: address.toLowerCase(), prefix: 128, version: 6, port };
    return undefined;
  }
  if (cidrv4.safeParse(text).success) return { kind: "ip", address, prefix: Number(prefixText), version: 4, port };
  if (cidrv6.safeParse(text).success)
    return { kind: "ip", address: address.toLowerCase(), prefix: Number(prefixText), version: 6, port };
  return undefined;
}

/** Parses one rule; the reason names what is wrong in words an operator can act on. */
export function parseEgressRule(rule: string): EgressParse {
  const fail = (reason: string): EgressParse => ({ ok: false, reason: `${JSON.stringify(rule)}: ${reason}` });
  if (rule === "*") return fail("a bare * would allow every host; name them");
  if (rule.includes("://")) return fail("give host:port, without a scheme");
  if (/[\s@?#]/.test(rule)) return fail("give host:port only (no spaces, user, path or query)");
  let hostPart: string;
  let portText: string;
  if (rule.startsWith("[")) {
    const close = rule.indexOf("]");
    if (close < 0 || rule[close + 1] !== ":") return fail("an IPv6 rule is [address]:port");
    hostPart = rule.slice(1, close);
    portText = rule.slice(close + 2);
  } else {
    const colon = rule.lastIndexOf(":");
    if (colon < 0) return fail("a port is required (host:port)");
    hostPart = rule.slice(0, colon);
    portText = rule.slice(colon + 1);
    if (hostPart.includes(":")) return fail("write an IPv6 address in brackets: [address]:port");
  }
  const port = parsePort(portText);
  if (typeof port === "string") return fail(port);
  if (hostPart === "" || hostPart === "*") return fail("a bare * (or no host) would allow every host; name them");
  if (rule.startsWith("[") || /^[\d./]+$/.test(hostPart)) {
    const target = ipTarget(hostPart, port);
    return target ? { ok: true, target } : fail("not a valid IP address or CIDR");
  }
  if (hostPart.includes("/")) return fail("a path or prefix length belongs only to IP ranges");
  const host = hostPart.toLowerCase();
  if (host.startsWith("*.")) {
    const suffix = host.slice(2);
    if (suffix.includes("*")) return fail("only one leading *. is allowed");
    const problem = hostProblem(suffix);
    return problem ? fail(problem) : { ok: true, target: { kind: "wildcard", suffix, port } };
  }
  if (host.includes("*")) return fail("* is allowed only as a whole leading label (*.example.com:443)");
  const problem = hostProblem(host);
  return problem ? fail(problem) : { ok: true, target: { kind: "host", host, port } };
}

/** One egress rule as it travels (validated, kept as the operator wrote it). */
export const EgressRule = lazySchema(() =>
  z
    .string()
    .min(1)
    .max(300)
    .superRefine((rule, ctx) => {
      const parsed = parseEgressRule(rule);
      if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
    }),
);

export const EgressAllow = lazySchema(() => z.strictObject({ allow: z.array(EgressRule).min(1).max(64) }));

/**
 * A managed server's network: `"none"` (no interface but loopback), `{allow: [...]}` (no route out,
 * only the Node's egress proxy, which lets through the listed hosts), or `"open"` (a bridge
 * network; a Node refuses it unless started with --allow-open-network). The booleans of earlier
 * versions still parse: `false` is `"none"`, `true` is `"open"`.
 */
export const McpNetworkValue = lazySchema(() => z.union([z.literal("none"), z.literal("open"), EgressAllow]));
// Built at load: a wrapper (a preprocess pipe) stays eager (lazy-schema.ts says why).
export const McpNetwork = z.preprocess(
  (value) => (value === false ? "none" : value === true ? "open" : value),
  McpNetworkValue,
);
export type McpNetwork = z.infer<typeof McpNetworkValue>;

/** Does rule target `a` (which a Node allows) cover rule target `b` (which a spec asks for)? */
export function egressCovers(a: EgressTarget, b: EgressTarget): boolean {
  if (a.port !== b.port) return false;
  if (a.kind === "host") return b.kind === "host" && b.host === a.host;
  if (a.kind === "wildcard") {
    if (b.kind === "host") return b.host.endsWith(`.${a.suffix}`);
    if (b.kind === "wildcard") return b.suffix === a.suffix || b.suffix.endsWith(`.${a.suffix}`);
    return false;
  }
  return b.kind === "ip" && b.version === a.version && b.prefix >= a.prefix && ipInRange(b.address, a);
}

function ipv4Bits(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6Bits(address: string): bigint {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4?.[1]) {
    const bits = ipv4Bits(v4[1]);
    text = `${text.slice(0, -v4[1].length)}${(bits >> 16n).toString(16)}:${(bits & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

/** Is `address` (same family as the range) inside `range`? Pure arithmetic, no node:net. */
export function ipInRange(address: string, range: { address: string; prefix: number; version: 4 | 6 }): boolean {
  const width = range.version === 4 ? 32n : 128n;
  const bits = range.version === 4 ? ipv4Bits : ipv6Bits;
  const shift = width - BigInt(range.prefix);
  return bits(address) >> shift === bits(range.address) >> shift;
}
