import type { Kysely } from "kysely";
import type { Migration } from "kysely/migration";
import * as m0001 from "./0001-initial.ts";
import * as m0003 from "./0003-schedule-state.ts";
import * as m0004 from "./0004-node-identity.ts";
import * as m0005 from "./0005-security.ts";
import * as m0006 from "./0006-run-budgets.ts";
import * as m0007 from "./0007-login-attempts.ts";
import * as m0008 from "./0008-webhook-senders.ts";
import * as m0013 from "./0013-fleet-jobs.ts";
import * as m0014 from "./0014-mcp-server.ts";
import * as m0015 from "./0015-channels.ts";
import * as m0021 from "./0021-provider-headers.ts";
import * as m0030 from "./0030-node-stats.ts";
import * as m0032 from "./0032-node-rollouts.ts";
import * as m0036 from "./0036-offline-nodes-wait.ts";
import type { MigrationContext } from "./context.ts";

interface MigrationModule {
  up(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
  down?(db: Kysely<unknown>, ctx: MigrationContext): Promise<void>;
}

/**
 * Every migration, in order. Listed in code (not read from a folder) so the Node-24 type-stripping
 * runtime and a bundled build see the same set. Names sort; never rename or reorder a shipped one.
 */
const MIGRATIONS: ReadonlyArray<readonly [string, MigrationModule]> = [
  ["0001-initial", m0001],
  ["0003-schedule-state", m0003],
  ["0004-node-identity", m0004],
  ["0005-security", m0005],
  ["0006-run-budgets", m0006],
  ["0007-login-attempts", m0007],
  ["0008-webhook-senders", m0008],
  ["0013-fleet-jobs", m0013],
  ["0014-mcp-server", m0014],
  ["0015-channels", m0015],
  ["0021-provider-headers", m0021],
  ["0030-node-stats", m0030],
  ["0032-node-rollouts", m0032],
  ["0036-offline-nodes-wait", m0036],
];

export function migrationsFor(ctx: MigrationContext): Record<string, Migration> {
  const out: Record<string, Migration> = {};
  for (const [name, mod] of MIGRATIONS) {
    const down = mod.down;
    out[name] = {
      up: (db) => mod.up(db, ctx),
      ...(down ? { down: (db: Kysely<unknown>) => down(db, ctx) } : {}),
    };
  }
  return out;
}
