import { readFile } from "node:fs/promises";
import type { HelloResult, NodeUpdateResultParams } from "@fabricore/protocol";
import type { NodeSettings } from "../env.ts";
import type { Logger } from "../logger.ts";
import { AutoUpdater, compiledExecutable, execve } from "./auto-updater.ts";
import { rollBack, startupState } from "./startup-check.ts";
import { markerPath, removeMarker, writeMarker } from "./update-marker.ts";

/** What self-update needs of the running Node: the pinned key, a way to stop, and to tell the Core
 * an update's outcome (false: not connected right now). */
export interface SelfUpdateNode {
  updateKey: string | undefined;
  stop: () => Promise<void>;
  report: (result: NodeUpdateResultParams) => boolean;
}

/** What the running Node tells self-update (main.ts): each hello, and each offer the Core pushes
 * to a connected Node (`fabricore/node/update`, a staged rollout). */
export interface SelfUpdate {
  connected(result: HelloResult, node: SelfUpdateNode): void;
  offered(version: string): void;
}

/**
 * --auto-update, at start: settle an update in flight (docs/NODE-LIFECYCLE.md "Self-update"), then
 * follow the version the Core advertises. Returns undefined when the Node cannot update itself (it
 * runs from source: there is no executable of its own to replace).
 */
export async function prepareSelfUpdate(
  settings: NodeSettings,
  options: { logger: Logger; version: string; argv: readonly string[] },
): Promise<SelfUpdate | undefined> {
  const { logger, version } = options;
  const executable = compiledExecutable();
  if (executable === undefined) {
    logger.warn({}, "--auto-update needs the compiled fabricore-node executable (make build-node); not updating");
    return undefined;
  }
  const state = await startupState(settings.dataDir, { version, pid: process.pid });
  let probation: ReturnType<typeof setTimeout> | undefined;
  let confirm: (() => Promise<void>) | undefined;
  const skip: string[] = [];
  let tellRollback: ((node: SelfUpdateNode) => Promise<boolean>) | undefined;
  const giveBack = async (marker: Parameters<typeof rollBack>[1], reason: string) => {
    if (await rollBack(settings.dataDir, marker, reason)) {
      logger.error({ from: marker.to, to: marker.from, reason }, "rolling back to the previous Node version");
      execve(marker.executable, [marker.executable, ...marker.argv], process.env);
    } else {
      logger.error({ reason }, "the update failed but the previous file is gone; this version keeps running");
    }
  };
  if (state.kind === "rollback") {
    await giveBack(state.marker, state.reason);
  } else if (state.kind === "probation") {
    const { marker } = state;
    logger.info(
      { from: marker.from, to: marker.to, deadline: new Date(marker.deadline).toISOString() },
      "new version on probation until it reaches the Core",
    );
    probation = setTimeout(
      () => void giveBack(marker, `version ${marker.to} did not reach the Core by its deadline`),
      Math.max(0, marker.deadline - Date.now()),
    );
    confirm = async () => {
      clearTimeout(probation);
      await removeMarker(markerPath(settings.dataDir));
      logger.info({ from: marker.from, to: marker.to }, "update confirmed: this version reached the Core");
      latest?.report({
        outcome: "updated",
        from: marker.from,
        to: marker.to,
        sha256: marker.sha256,
        at: new Date().toISOString(),
      });
    };
  } else if (state.kind === "rolledBack") {
    const { marker } = state;
    skip.push(marker.sha256);
    if (marker.from === version) {
      logger.warn(
        { from: marker.from, to: marker.to, reason: marker.reason, at: marker.at },
        "an update was rolled back; that build is not tried again",
      );
      // The restored version tells the Core once, on its first connection (the watchdog that put
      // it back has no connection of its own).
      if (marker.reportedAt === undefined) {
        tellRollback = async (node) => {
          const sent = node.report({
            outcome: "rolled_back",
            from: marker.from,
            to: marker.to,
            code: "rolled_back",
            reason: marker.reason.slice(0, 1024),
            sha256: marker.sha256,
            at: marker.at,
          });
          if (sent)
            await writeMarker(markerPath(settings.dataDir), { ...marker, reportedAt: new Date().toISOString() });
          return sent;
        };
      }
    }
  }
  const ca = settings.caFile === undefined ? undefined : await readFile(settings.caFile, "utf8");
  let updater: AutoUpdater | undefined;
  let latest: SelfUpdateNode | undefined;
  const updaterFor = (node: SelfUpdateNode) =>
    (updater ??= new AutoUpdater({
      coreUrl: settings.coreUrl,
      ca,
      dataDir: settings.dataDir,
      executable,
      argv: [...options.argv],
      platform: `${process.platform}-${process.arch}`,
      currentVersion: version,
      deadlineMs: settings.updateDeadlineMs,
      updateKey: () => latest?.updateKey,
      skipSha256: skip,
      logger,
      onOutcome: (outcome) => void (latest ?? node).report(outcome),
      stopNode: () => latest?.stop() ?? Promise.resolve(),
    }));
  // Settling the update in flight (confirming it, or telling the Core of a rollback) comes first.
  let ready: Promise<void> = Promise.resolve();
  return {
    connected(result, node) {
      latest = node;
      let settle = confirm;
      confirm = undefined;
      const tell = tellRollback;
      if (!settle && tell) {
        settle = async () => {
          if (await tell(node)) tellRollback = undefined;
        };
      }
      ready = (settle ? settle() : Promise.resolve()).catch((error: unknown) =>
        logger.error({ err: (error as Error).message }, "settling the previous update failed"),
      );
      const current = updaterFor(node);
      void ready.then(() => current.consider(result.nodeVersion));
    },
    offered(version) {
      if (!latest) return;
      const current = updaterFor(latest);
      void ready.then(() => current.consider(version));
    },
  };
}
