/**
 * Network namespaces for the link tests: two namespaces of the test's own (one for the Core, one for
 * the Node) joined by one veth pair, the only interfaces that get addresses. The link can be
 * impaired with kernel mechanisms only, so the Core and the Node talk over a real TCP connection with
 * nothing of ours in the data path:
 *
 * - `ip link set … down` cuts it (the kernel drops every packet; neither side sees a FIN or RST);
 * - `setLoss` drops packets at random on both ends (iptables `statistic --mode random` in OUTPUT);
 * - `setRate` makes it slow (a `tbf` qdisc on both ends: serialisation and queueing delay).
 *
 * Everything is removed again by `destroy()`, which the tests call in afterAll (iptables rules and
 * qdiscs die with their namespace).
 *
 * Needs root and iproute2; loss also needs iptables with the `statistic` match. There is no netem
 * here (the kernel lacks sch_netem), so a fixed delay, jitter and reordering cannot be emulated.
 */
import { execFileSync } from "node:child_process";

export interface NetnsAvailability {
  ok: boolean;
  reason: string;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || error.message;
  }
  return String(error);
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
    return { ok: false, reason: `ip netns is unavailable: ${describeError(error)}` };
  }
}

/** Whether a link can also be made lossy and slow here: namespaces, plus an iptables `statistic` rule
 * and a `tbf` qdisc accepted on a probe veth (a kernel can lack either module). */
export function impairmentAvailability(): NetnsAvailability {
  const netns = netnsAvailability();
  if (!netns.ok) return netns;
  const lab = new NetLab(`${process.pid}p`, { subnet: "10.231.255" });
  try {
    lab.setUp();
    lab.setLoss(0.5);
    lab.setRate(256);
    lab.clearImpairments();
    return { ok: true, reason: "" };
  } catch (error) {
    return { ok: false, reason: `cannot impair a veth link (iptables statistic, tc tbf): ${describeError(error)}` };
  } finally {
    lab.destroy();
  }
}

function run(command: string, args: string[]): string {
  return execFileSync(command, args, { stdio: ["ignore", "pipe", "pipe"] }).toString();
}

function ip(...args: string[]): string {
  return run("ip", args);
}

/** One end's loss rule, as iptables arguments after -A or -D. */
function lossRule(iface: string, probability: number): string[] {
  return [
    "OUTPUT",
    "-o",
    iface,
    "-m",
    "statistic",
    "--mode",
    "random",
    "--probability",
    String(probability),
    "-j",
    "DROP",
  ];
}

export interface NetLabOptions {
  /** The first three octets of the /30 the pair gets (.1 the Core, .2 the Node). Only the two
   * namespaces see it, but distinct labs that may exist at once are easier to tell apart. */
  subnet?: string;
}

/** Per-end counters, read from the kernel, so a test can show an impairment really acted. */
export interface LinkCounters {
  /** Packets the loss rule dropped on the Core's end (Core → Node) and the Node's end (Node → Core). */
  droppedByCore: number;
  droppedByNode: number;
  /** Bytes the tbf qdisc sent on each end (0 without one). */
  shapedByCore: number;
  shapedByNode: number;
}

/** Core namespace ↔ Node namespace over one veth pair (a /30 that exists only inside them). */
export class NetLab {
  readonly coreNs: string;
  readonly nodeNs: string;
  /** The Node side's interface (the one the tests take down and up). */
  readonly nodeIf: string;
  readonly coreIf: string;
  readonly coreAddress: string;
  readonly nodeAddress: string;
  private created: string[] = [];
  /** The drop probability of the loss rules installed now, or none. */
  private loss: number | undefined;
  private shaped = false;

  constructor(tag = String(process.pid), options: NetLabOptions = {}) {
    this.coreNs = `fc-${tag}-core`;
    this.nodeNs = `fc-${tag}-node`;
    // Interface names are at most 15 characters.
    this.coreIf = `fc${tag}c`.slice(0, 15);
    this.nodeIf = `fc${tag}n`.slice(0, 15);
    const subnet = options.subnet ?? "10.231.7";
    this.coreAddress = `${subnet}.1`;
    this.nodeAddress = `${subnet}.2`;
  }

  setUp(): this {
    for (const ns of [this.coreNs, this.nodeNs]) {
      ip("netns", "add", ns);
      this.created.push(ns);
      ip("-n", ns, "link", "set", "lo", "up");
    }
    // gso_max_segs 1: veth lets the stack skip segmentation, so by default one "packet" is up to
    // 64 KB of TCP data, cut to wire size only where a real NIC would cut it. A loss rule would then
    // drop dozens of segments at once and the shaper would queue 64 KB bursts; one segment per packet
    // makes each drop and each queued packet the size it has on a wire. Set at creation (kernels
    // before 5.19 cannot change it later), and it takes effect for connections opened after it.
    ip(
      "-n",
      this.coreNs,
      "link",
      "add",
      this.coreIf,
      "gso_max_segs",
      "1",
      "type",
      "veth",
      "peer",
      "name",
      this.nodeIf,
      "gso_max_segs",
      "1",
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

  /**
   * Drops each packet leaving either end with `probability` (0 < p < 1), independently, so both
   * directions lose about that share. In OUTPUT, not FORWARD or INPUT: the packets are the local TCP
   * stack's own, so it sees the loss exactly as it would on a bad line and retransmits. Replaces a
   * previous loss setting.
   */
  setLoss(probability: number): void {
    if (!(probability > 0 && probability < 1)) throw new RangeError(`loss probability ${probability} is not in (0, 1)`);
    this.clearLoss();
    this.loss = probability;
    for (const [ns, iface] of this.ends()) this.iptables(ns, "-A", ...lossRule(iface, probability));
  }

  clearLoss(): void {
    const probability = this.loss;
    if (probability === undefined) return;
    this.loss = undefined;
    for (const [ns, iface] of this.ends()) {
      try {
        this.iptables(ns, "-D", ...lossRule(iface, probability));
      } catch {}
    }
  }

  /**
   * Limits each end's sending rate to `kbit` kilobits per second with a token bucket (tbf): a large
   * message takes size / rate to cross, and whatever is queued behind it (a heartbeat, a ping's
   * answer) waits that long too. The queue holds 2 s of traffic; TCP fills it and meets the odd tail
   * drop, as on a real slow uplink. Replaces a previous rate.
   */
  setRate(kbit: number): void {
    if (!(kbit > 0)) throw new RangeError(`rate ${kbit} kbit/s is not positive`);
    this.shaped = true;
    for (const [ns, iface] of this.ends()) {
      run("ip", [
        "netns",
        "exec",
        ns,
        "tc",
        "qdisc",
        "replace",
        "dev",
        iface,
        "root",
        "tbf",
        "rate",
        `${kbit}kbit`,
        "burst",
        "1600",
        "latency",
        "2s",
      ]);
    }
  }

  clearRate(): void {
    if (!this.shaped) return;
    this.shaped = false;
    for (const [ns, iface] of this.ends()) {
      try {
        run("ip", ["netns", "exec", ns, "tc", "qdisc", "del", "dev", iface, "root"]);
      } catch {}
    }
  }

  clearImpairments(): void {
    this.clearLoss();
    this.clearRate();
  }

  /** The kernel's own counters for the current loss rule and rate limit on each end. */
  counters(): LinkCounters {
    return {
      droppedByCore: this.dropped(this.coreNs, this.coreIf),
      droppedByNode: this.dropped(this.nodeNs, this.nodeIf),
      shapedByCore: this.shapedBytes(this.coreNs, this.coreIf),
      shapedByNode: this.shapedBytes(this.nodeNs, this.nodeIf),
    };
  }

  /** `ip netns exec <ns> command…` as argv for spawn. */
  exec(ns: string, command: string, args: string[]): [string, string[]] {
    return ["ip", ["netns", "exec", ns, command, ...args]];
  }

  /** Removes the namespaces (and with them the veth pair, its addresses, loss rules and qdiscs).
   * Processes running in them must be stopped first. */
  destroy(): void {
    this.loss = undefined;
    this.shaped = false;
    for (const ns of this.created.splice(0).reverse()) {
      try {
        ip("netns", "del", ns);
      } catch {}
    }
  }

  private ends(): Array<[string, string]> {
    return [
      [this.coreNs, this.coreIf],
      [this.nodeNs, this.nodeIf],
    ];
  }

  /** -w: the xtables lock is one file for every namespace, and another test may hold it. */
  private iptables(ns: string, ...args: string[]): string {
    return run("ip", ["netns", "exec", ns, "iptables", "-w", "5", ...args]);
  }

  private dropped(ns: string, iface: string): number {
    if (this.loss === undefined) return 0;
    // -x: exact numbers (not 1K); one line per rule: pkts bytes target prot opt in out …
    const listing = this.iptables(ns, "-L", "OUTPUT", "-v", "-n", "-x");
    const line = listing.split("\n").find((l) => l.includes("DROP") && l.includes(iface) && l.includes("statistic"));
    return Number(line?.trim().split(/\s+/)[0] ?? 0);
  }

  private shapedBytes(ns: string, iface: string): number {
    if (!this.shaped) return 0;
    const stats = run("ip", ["netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", iface]);
    // "qdisc tbf 8006: root … \n Sent 209534 bytes 145 pkt (dropped 31, …)"
    return Number(/qdisc tbf[^\n]*\n\s*Sent (\d+) bytes/.exec(stats)?.[1] ?? 0);
  }
}
