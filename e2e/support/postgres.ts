export { createTestDatabase, postgresUnderTest } from "@fabricore/core/testing/postgres-database.ts";
