import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * A fresh PostgreSQL database under FABRICORE_TEST_POSTGRES_URL (the server's admin URL), for one
 * e2e run; `drop` removes it (FORCE: a Core killed by a test may still hold connections).
 */
export async function createTestDatabase(
  adminUrl: string,
  label: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `fabricore_${label}_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

export function postgresAdminUrl(): string {
  const url = process.env.FABRICORE_TEST_POSTGRES_URL?.trim();
  if (!url) {
    throw new Error(
      "FABRICORE_TEST_POSTGRES_URL is unset: the PostgreSQL e2e project needs it (bash scripts/start-services.sh)",
    );
  }
  return url;
}
