import type { Operation } from "./openapi-operation.ts";
import { ACCESS_OPERATIONS } from "./openapi-operations-access.ts";
import { JOB_OPERATIONS } from "./openapi-operations-jobs.ts";
import { NODE_OPERATIONS } from "./openapi-operations-nodes.ts";
import { SETTINGS_OPERATIONS } from "./openapi-operations-settings.ts";

export type { Operation } from "./openapi-operation.ts";

/** Every route of the API (`METHOD /url` as registered), one file per part of the API. A route is in
 * exactly one of them: openapi-operations.test.ts fails for a key two parts both name. */
export const PARTS = { ACCESS_OPERATIONS, JOB_OPERATIONS, NODE_OPERATIONS, SETTINGS_OPERATIONS };

export const OPERATIONS: Record<string, Operation> = {
  ...ACCESS_OPERATIONS,
  ...JOB_OPERATIONS,
  ...NODE_OPERATIONS,
  ...SETTINGS_OPERATIONS,
};
