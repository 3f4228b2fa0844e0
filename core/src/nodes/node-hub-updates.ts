import type { HelloResult, NodeUpdateResultParams } from "@fabricore/protocol";
import { servedVersionNow } from "./node-build-watch.ts";
import type { Connection } from "./node-hub-connection.ts";
import type { NodeHubOptions } from "./node-hub-types.ts";

/*
 * The hub's part in Node self-update: the version and release key a hello answer carries, the offer
 * to a connected Node (`fabricore/node/update`), and the Node's report of what became of it
 * (`fabricore/node/update-result`). The rollout that decides who is offered what is
 * services/node-rollout.ts.
 */

/** The update fields of a HelloResult: the served version unless a staged rollout holds this Node back. */
export function helloUpdateFields(
  options: NodeHubOptions,
  nodeId: string,
): Pick<HelloResult, "nodeVersion" | "updateKey"> {
  const served = servedVersionNow(options.servedNodeVersion);
  return {
    ...(served !== undefined && (options.offersNodeVersion?.(nodeId) ?? true) && { nodeVersion: served }),
    ...(options.updateKey !== undefined && { updateKey: options.updateKey }),
  };
}

/** Offers a connected Node a version to update to; false when it is not connected (or not online). */
export function offerUpdate(conn: Connection | undefined, version: string): boolean {
  if (!conn?.online) return false;
  conn.peer.notify("fabricore/node/update", { version }).catch(() => {});
  return true;
}

/** A Node's `fabricore/node/update-result`, passed on once it has said hello. */
export function updateResultReported(
  options: NodeHubOptions,
  safely: (what: string, fn: () => void) => void,
  conn: Connection,
  result: NodeUpdateResultParams,
): void {
  if (!conn.online) return;
  safely("onUpdateResult", () => options.onUpdateResult?.(conn.nodeId, result));
}
