/**
 * Network namespaces for the link-cut tests: two namespaces of the test's own (one for the Core, one
 * for the Node) joined by one veth pair, the only interfaces that get addresses. `ip link set … down`
 * cuts the link for real (the kernel drops every packet; neither side sees a FIN or RST). Everything
 * is removed again by `destroy()`, which the tests call in afterAll.
 *
 * Needs root and iproute2. There is no netem here (the kernel lacks sch_netem), so delay and loss
 * are not emulated: a link is either up or down.
 */
import { execFileSync } from "node:child_process";

export interface NetnsAvailability {
  ok: boolean;
  reason: string;
}

/** Whether namespaces can be made here: root, `ip` present, and a probe namespace creatable. */
export function netnsAvailability(): NetnsAvailability {
  if (process.getuid?.() !== 0) return { ok: false, reason: "network namespaces need root" };
  const probe = `fc-probe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "del", probe], { stdio: "pipe" });
    return { ok: true, reason: "" };
  } catch (error) {
    return { ok: false, reason: `ip netns is unavailable: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

/** Core namespace ↔ Node namespace over one veth pair (a /30 that exists only inside them). */
export class NetLab {
  readonly coreNs: string;
  readonly nodeNs: string;
  /** The Node side's interface (the one the tests take down and up). */
  readonly nodeIf: string;
  readonly coreIf: string;
  readonly coreAddress = "10.231.7.1";
  readonly nodeAddress = "10.231.7.2";
  private created: string[] = [];

  constructor(tag = String(process.pid)) {
    this.coreNs = `fc-${tag}-core`;
    this.nodeNs = `fc-${tag}-node`;
    // Interface names are at most 15 characters.
    this.coreIf = `fc${tag}c`.slice(0, 15);
    this.nodeIf = `fc${tag}n`.slice(0, 15);
  }

  setUp(): this {
    for (const ns of [this.coreNs, this.nodeNs]) {
      ip("netns", "add", ns);
      this.created.push(ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
    ip(
      "-n",
      this.coreNs,
      "link",
      "add",
      this.coreIf,
      "type",
      "veth",
      "peer",
      "name",
      this.nodeIf,
      "netns",
      this.nodeNs,
    );
    ip("-n", this.coreNs, "addr", "add", `${this.coreAddress}/30`, "dev", this.coreIf);
    ip("-n", this.nodeNs, "addr", "add", `${this.nodeAddress}/30`, "dev", this.nodeIf);
    ip("-n", this.coreNs, "link", "set", this.coreIf, "up");
    ip("-n", this.nodeNs, "link", "set", this.nodeIf, "up");
    return this;
  }

  /** Cuts (false) or restores (true) the link. Both ends go down, so neither kernel answers. */
  setLink(up: boolean): void {
    const state = up ? "up" : "down";
    ip("-n", this.nodeNs, "link", "set", this.nodeIf, state);
    ip("-n", this.coreNs, "link", "set", this.coreIf, state);
  }

  /** `ip netns exec <ns> command…` as argv for spawn. */
  exec(ns: string, command: string, args: string[]): [string, string[]] {
    return ["ip", ["netns", "exec", ns, command, ...args]];
  }

  /** Removes the namespaces (and with them the veth pair and its addresses). Processes running in
   * them must be stopped first. */
  destroy(): void {
    for (const ns of this.created.splice(0).reverse()) {
      try {
        ip("netns", "del", ns);
      } catch {}
    }
  }
}
