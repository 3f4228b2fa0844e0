import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/**
 * DATA_DIR/update.json: the one record of a self-update in flight, read by the new version at its
 * start, by the watchdog (update-watchdog.ts) and by the old version after a rollback. Written whole
 * and renamed, so a reader never sees half of it.
 */
export const UPDATE_MARKER_FILE = "update.json";

const Common = {
  version: z.literal(1),
  /** Tells one update from the next (a watchdog of an older one must not act on a newer one). */
  id: z.string().min(1),
  from: z.string(),
  to: z.string(),
  /** Digest of the build that was installed: after a rollback the same build is not tried again. */
  sha256: z.string(),
  /** The executable that was replaced, and where its previous file was kept. */
  executable: z.string(),
  previous: z.string(),
  /** The process that re-exec'd itself into the new file (exec keeps the pid). */
  pid: z.number().int().positive(),
  /** Arguments to start the Node with again (without the runtime's own argv[0..1]). */
  argv: z.array(z.string()),
  /** Epoch ms by which the new version must have reached the Core. */
  deadline: z.number(),
};

export const UpdateMarker = z.discriminatedUnion("state", [
  z.object({ ...Common, state: z.literal("pending") }),
  z.object({
    ...Common,
    state: z.literal("rolledBack"),
    reason: z.string(),
    at: z.string(),
    /** When the restored version told the Core (`fabricore/node/update-result`); once is enough. */
    reportedAt: z.string().optional(),
  }),
]);
export type UpdateMarker = z.infer<typeof UpdateMarker>;
export type PendingUpdate = Extract<UpdateMarker, { state: "pending" }>;
export type RolledBackUpdate = Extract<UpdateMarker, { state: "rolledBack" }>;

export const markerPath = (dataDir: string) => join(dataDir, UPDATE_MARKER_FILE);

export const newUpdateId = () => randomBytes(8).toString("hex");

/** The marker, or undefined when there is none or it is unreadable (an unreadable one is ignored: it
 * can only ever cause a rollback, never run anything). */
export async function readMarker(path: string): Promise<UpdateMarker | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = UpdateMarker.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeMarker(path: string, marker: UpdateMarker): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
}

export async function removeMarker(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The rollback record of a pending update. */
export function rolledBack(marker: UpdateMarker, reason: string): RolledBackUpdate {
  return { ...marker, state: "rolledBack", reason, at: new Date().toISOString() };
}
