import { sql } from "kysely";
import type { Logger as PinoLogger } from "pino";
import { dataDirWarnings } from "./data-dir.ts";
import {
  createRepositories,
  MasterKeysRepo,
  migrateToLatest,
  type OpenedDatabase,
  openDatabase,
  type Repositories,
} from "./database/index.ts";
import type { CoreEnv } from "./env.ts";
import { loadMasterKey } from "./secrets/index.ts";
import { openKeyRing, readNextMasterKey } from "./secrets/key-ring.ts";

export interface CoreStorage {
  database: OpenedDatabase;
  repos: Repositories;
  /** The master key's bytes (the Node challenge key is derived from it). */
  masterKey: Buffer;
}

/** The composition root's first step: the data dir checked, the master key, the migrated database
 * and its repositories over the key ring. */
export async function openStorage(env: CoreEnv, logger: PinoLogger): Promise<CoreStorage> {
  // Before anything is created in it: what a previous version (or a copy) left readable (21.4).
  const wideModes = dataDirWarnings(env.dataDir);
  if (wideModes.length)
    logger.warn(
      { paths: wideModes },
      "the data dir is readable by other users: it holds run transcripts, tool outputs and the master key",
    );
  const masterKey = loadMasterKey({ env: env.FABRICORE_MASTER_KEY, dataDir: env.dataDir });
  if (masterKey.created)
    logger.warn({ path: masterKey.path }, "generated a new master key; back it up with the database");
  const database = openDatabase({ url: env.FABRICORE_DATABASE_URL, dataDir: env.dataDir });
  await migrateToLatest(database.db);
  // The key's version comes from the database's key ring (a wrong key stops the Core here); an
  // interrupted rotate-key leaves master.key.next, loaded too so every value still opens.
  const box = await openKeyRing(new MasterKeysRepo(database.db), masterKey.key, readNextMasterKey(env.dataDir)).catch(
    async (error: unknown) => {
      await database.close();
      throw error;
    },
  );
  const repos = createRepositories(database.db, box);
  // Headers an older Core kept in plain `options` are sealed now (issue 21.1); on SQLite the file is
  // then rewritten (VACUUM, WAL truncated) so the old plain text does not linger in free pages.
  const sealedHeaders = await repos.providers.sealLegacyHeaders();
  if (sealedHeaders > 0) {
    if (database.dialect === "sqlite") {
      await sql`VACUUM`.execute(database.db);
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(database.db);
    }
    logger.warn({ providers: sealedHeaders }, "sealed provider headers that an older version stored in plain text");
  }
  return { database, repos, masterKey: masterKey.key };
}
