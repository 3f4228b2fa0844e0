import type { Logger } from "@fabricore/protocol";
import type { NodeUpdatePolicy } from "./node-rollout.ts";

/** A Node connected to THIS process, as its hello said. */
export interface ConnectedNodeVersion {
  nodeId: string;
  name: string;
  version: string;
}

export interface BuildPushOptions {
  policy: NodeUpdatePolicy;
  /** The Nodes connected to this process (never another replica's: that replica pushes its own). */
  connected: () => ConnectedNodeVersion[];
  /** Whether a running or paused rollout decides who is offered what (then nothing is pushed here). */
  rolloutActive: () => boolean;
  /** Sends `fabricore/node/update` (NodeHub.offerUpdate); false when the Node is no longer connected. */
  offer: (nodeId: string, version: string) => boolean;
  logger: Pick<Logger, "info">;
}

/**
 * After a rebuild (nodes/node-build-watch.ts): offers the new version to every Node connected here
 * on another version, over the message a rollout pushes, so an --auto-update Node takes it now
 * rather than at its next hello; a Node without --auto-update ignores the message. Only under the
 * `auto` policy with no rollout active: `staged` waits for an admin's rollout, and a rollout
 * offers only its own batch. A Node that refused or rolled back this very build does not download
 * it again (it sends the digest as If-None-Match, the Core answers 304, it reports not_retried);
 * another build under the same version is tried. Returns the Nodes offered.
 */
export function pushRebuiltBuild(o: BuildPushOptions, version: string): string[] {
  if (o.policy !== "auto") {
    o.logger.info({ version }, "a new Node build is served; the staged policy waits for a rollout to offer it");
    return [];
  }
  if (o.rolloutActive()) {
    o.logger.info({ version }, "a new Node build is served; the active rollout decides who is offered what");
    return [];
  }
  const offered: string[] = [];
  for (const node of o.connected()) {
    if (node.version === version) continue;
    if (o.offer(node.nodeId, version)) offered.push(node.nodeId);
  }
  o.logger.info({ version, offered: offered.length }, "offered the new Node build to the Nodes connected here");
  return offered;
}
