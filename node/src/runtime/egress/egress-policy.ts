import { type EgressTarget, ipInRange, parseEgressRule } from "@fabricore/protocol";
import { internalRange, unmapIpv4 } from "../container-bounds.ts";

/** Resolves a name to its addresses (all of them: every one is checked). */
export type Lookup = (host: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;

export type EgressDecision =
  | { allowed: true; address: string; family: 4 | 6; rule: string }
  | { allowed: false; reason: string };

function ipFamily(host: string): 4 | 6 | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return 4;
  if (host.includes(":")) return 6;
  return undefined;
}

/**
 * One server's allow list, as the proxy applies it to each connection: the requested host and port
 * must match a rule; a name is resolved here (never by the container) and every address it resolves
 * to must be public, so a DNS answer cannot point an allowed name at 10.x, 127.x or the metadata
 * address (DNS rebinding). An internal address is reachable only through a rule that lists it by IP.
 */
export class EgressPolicy {
  private readonly rules: Array<{ text: string; target: EgressTarget }>;
  private readonly lookup: Lookup;

  constructor(rules: readonly string[], lookup: Lookup) {
    this.rules = rules.map((text) => {
      const parsed = parseEgressRule(text);
      if (!parsed.ok) throw new Error(parsed.reason);
      return { text, target: parsed.target };
    });
    this.lookup = lookup;
  }

  async decide(rawHost: string, port: number): Promise<EgressDecision> {
    const host = rawHost
      .replace(/^\[|\]$/g, "")
      .toLowerCase()
      .replace(/\.$/, "");
    const family = ipFamily(host);
    if (family !== undefined) {
      const address = unmapIpv4(host);
      const fam: 4 | 6 = address === host ? family : 4;
      const rule = this.rules.find(
        ({ target }) =>
          target.kind === "ip" && target.port === port && target.version === fam && ipInRange(address, target),
      );
      if (!rule) return { allowed: false, reason: `${host}:${port} is not in the allow list` };
      return { allowed: true, address, family: fam, rule: rule.text };
    }
    const rule = this.rules.find(({ target }) => {
      if (target.port !== port) return false;
      if (target.kind === "host") return target.host === host;
      if (target.kind === "wildcard") return host.endsWith(`.${target.suffix}`);
      return false;
    });
    if (!rule) return { allowed: false, reason: `${host}:${port} is not in the allow list` };
    let answers: Array<{ address: string; family: 4 | 6 }>;
    try {
      answers = await this.lookup(host);
    } catch (error) {
      return {
        allowed: false,
        reason: `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      };
    }
    if (answers.length === 0) return { allowed: false, reason: `${host} does not resolve` };
    // Every answer, not just the first: a round-robin answer mixing a public and a private address
    // would otherwise reach the private one on a retry.
    for (const answer of answers) {
      const range = internalRange(answer.address, answer.family);
      if (range !== undefined) {
        return {
          allowed: false,
          reason: `${host} resolves to ${answer.address} (${range}); an internal address is reachable only when listed by IP`,
        };
      }
    }
    const first = answers[0]!;
    return {
      allowed: true,
      address: unmapIpv4(first.address),
      family: first.address.includes(":") ? 6 : 4,
      rule: rule.text,
    };
  }
}
