import { readFile } from "node:fs/promises";
import type { HelloResult } from "@fabricore/protocol";
import type { NodeSettings } from "../env.ts";
import type { Logger } from "../logger.ts";
import { AutoUpdater, compiledExecutable, execve } from "./auto-updater.ts";
import { rollBack, startupState } from "./startup-check.ts";
import { markerPath, removeMarker } from "./update-marker.ts";

/** What the running Node tells self-update (main.ts): each hello, with what an update needs. */
export interface SelfUpdate {
  connected(result: HelloResult, node: { updateKey: string | undefined; stop: () => Promise<void> }): void;
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
    };
  } else if (state.kind === "rolledBack") {
    skip.push(state.marker.sha256);
    if (state.marker.from === version) {
      logger.warn(
        { from: state.marker.from, to: state.marker.to, reason: state.marker.reason, at: state.marker.at },
        "an update was rolled back; that build is not tried again",
      );
    }
  }
  const ca = settings.caFile === undefined ? undefined : await readFile(settings.caFile, "utf8");
  let updater: AutoUpdater | undefined;
  let latest: Parameters<SelfUpdate["connected"]>[1] | undefined;
  return {
    connected(result, node) {
      latest = node;
      const ready = confirm ? confirm() : Promise.resolve();
      confirm = undefined;
      updater ??= new AutoUpdater({
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
        stopNode: () => latest?.stop() ?? Promise.resolve(),
      });
      const current = updater;
      void ready
        .catch((error: unknown) => logger.error({ err: (error as Error).message }, "confirming the update failed"))
        .then(() => current.consider(result.nodeVersion));
    },
  };
}
