import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A fresh PostgreSQL database under FABRICORE_TEST_POSTGRES_URL (the server's admin URL) for one
 * test Core or one e2e run, so parallel tests never share rows; `drop` removes it (FORCE: a Core a
 * test killed may still hold connections).
 */
export async function createTestDatabase(
  adminUrl: string,
  label: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `fabricore_${label}_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** FABRICORE_TEST_DATABASE=postgres (the vitest `postgres` project) runs API and e2e tests on
 * PostgreSQL; without a server that is an error, never a silent fallback to SQLite. */
export function postgresUnderTest(): string | undefined {
  if (process.env.FABRICORE_TEST_DATABASE !== "postgres") return undefined;
  const url = process.env.FABRICORE_TEST_POSTGRES_URL?.trim();
  if (!url) {
    throw new Error(
      "FABRICORE_TEST_DATABASE=postgres needs FABRICORE_TEST_POSTGRES_URL (bash scripts/start-services.sh)",
    );
  }
  return url;
}
