import { createTestDatabase } from "@fabricore/core/testing/postgres-database.ts";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** The `postgres` project's e2e database; every Core process its e2e tests start uses it. */
    e2eDatabaseUrl: string;
  }
}

/** The `postgres` project (vitest.config.ts): one fresh database for the e2e Cores of the run,
 * dropped after. (In-process test Cores get one database each, see core/src/testing/test-core.ts.) */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Runs in vitest's main process, where the project's env is not applied: read the URL itself.
  const adminUrl = process.env.FABRICORE_TEST_POSTGRES_URL?.trim();
  if (!adminUrl)
    throw new Error("the postgres test project needs FABRICORE_TEST_POSTGRES_URL (bash scripts/start-services.sh)");
  const database = await createTestDatabase(adminUrl, "e2e");
  project.provide("e2eDatabaseUrl", database.url);
  return () => database.drop();
}
