import type { TestProject } from "vitest/node";
import { createTestDatabase, postgresAdminUrl } from "./postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** The e2e-postgres project's database; every Core its tests start uses it. */
    e2eDatabaseUrl: string;
  }
}

/** The `e2e-postgres` project (vitest.config.ts): one fresh database for the run, dropped after. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await createTestDatabase(postgresAdminUrl(), "e2e");
  project.provide("e2eDatabaseUrl", database.url);
  return () => database.drop();
}
