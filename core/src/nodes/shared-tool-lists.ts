import { createHash } from "node:crypto";
import type { ToolDescriptor } from "@fabricore/protocol";

/**
 * Identical tool lists kept once: most of a fleet runs the same Node build with the same tools,
 * and each parsed list with its JSON schemas is kilobytes per Node (bench/fleet.ts measures it).
 *
 * Issue 21.7: the previous cache kept up to 1,000 lists keyed by their whole JSON, used or not,
 * so one Node sending 40 distinct 3.4 MB lists grew the Core by ~330 MB for good. Now a list is
 * keyed by the SHA-256 of its JSON and counted by the connections that use it; the last release
 * drops it, so the store never holds more lists than there are connected Nodes.
 */
export class SharedToolLists {
  private readonly lists = new Map<string, { tools: ToolDescriptor[]; refs: number; bytes: number }>();

  /** The shared copy of the list `json` encodes (`tools` parsed from it), one reference taken. */
  acquire(tools: ToolDescriptor[], json: string): { key: string; tools: ToolDescriptor[] } {
    const key = createHash("sha256").update(json).digest("hex");
    const entry = this.lists.get(key);
    if (entry) {
      entry.refs += 1;
      return { key, tools: entry.tools };
    }
    this.lists.set(key, { tools, refs: 1, bytes: Buffer.byteLength(json) });
    return { key, tools };
  }

  release(key: string | undefined): void {
    if (key === undefined) return;
    const entry = this.lists.get(key);
    if (!entry) return;
    entry.refs -= 1;
    if (entry.refs <= 0) this.lists.delete(key);
  }

  /** Distinct lists held, and their JSON size in bytes (a measure of what they cost). */
  stats(): { lists: number; bytes: number } {
    let bytes = 0;
    for (const entry of this.lists.values()) bytes += entry.bytes;
    return { lists: this.lists.size, bytes };
  }
}
