import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CORE_UMASK } from "./data-dir.ts";
import { createRepositories, MasterKeysRepo, migrateToLatest, openDatabase } from "./database/index.ts";
import { loadCoreEnv, SettingsError } from "./env.ts";
import { SecretsError } from "./secrets/errors.ts";
import { openKeyRing, readNextMasterKey } from "./secrets/key-ring.ts";
import { loadMasterKey, MASTER_KEY_FILE } from "./secrets/master-key.ts";
import { rotateMasterKey } from "./services/key-rotation.ts";

const USAGE = `usage: node core/src/cli.ts <command>

commands:
  rotate-key [--new-key <base64>]   re-encrypt every secret, provider key and webhook secret under a
                                     new master key (or FABRICORE_NEW_MASTER_KEY); run it again to
                                     resume an interrupted rotation. Stop the Core first.
`;

/** Administrative commands that work on the Core's data directly (the Core need not run). */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "rotate-key") {
    process.stderr.write(USAGE);
    return command === undefined || command === "help" || command === "--help" ? 0 : 2;
  }
  const { values } = parseArgs({ args: rest, options: { "new-key": { type: "string" } }, strict: true });
  const env = loadCoreEnv();
  const database = openDatabase({ url: env.FABRICORE_DATABASE_URL, dataDir: env.dataDir });
  try {
    await migrateToLatest(database.db);
    // Opening the ring first checks that the given master key is the database's (and registers it
    // on a database that never started a Core).
    if (!env.FABRICORE_MASTER_KEY && !existsSync(join(env.dataDir, MASTER_KEY_FILE))) {
      throw new SecretsError("wrong_master_key", `no master key in ${env.dataDir} and FABRICORE_MASTER_KEY is unset`);
    }
    const master = loadMasterKey({ env: env.FABRICORE_MASTER_KEY, dataDir: env.dataDir });
    const box = await openKeyRing(new MasterKeysRepo(database.db), master.key, readNextMasterKey(env.dataDir));
    const repos = createRepositories(database.db, box);
    const result = await rotateMasterKey({
      repos,
      dataDir: env.dataDir,
      envMasterKey: env.FABRICORE_MASTER_KEY,
      newKey: values["new-key"] ?? process.env.FABRICORE_NEW_MASTER_KEY,
      onProgress: (done, total) => {
        if (done % 100 === 0 || done === total) process.stdout.write(`re-encrypted ${done}/${total}\n`);
      },
    });
    process.stdout.write(
      `master key rotated: version ${result.fromVersion} → ${result.toVersion}; ` +
        `${result.reencrypted} values re-encrypted now, ${result.alreadyDone} were already done.\n`,
    );
    if (result.envMustChange) {
      process.stdout.write("FABRICORE_MASTER_KEY must now be set to the new key before the Core starts again.\n");
    }
    return 0;
  } finally {
    await database.close();
  }
}

// rotate-key writes master.key.next and re-encrypts the database: for the Core's user only (21.4).
process.umask(CORE_UMASK);
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof SettingsError || error instanceof SecretsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
