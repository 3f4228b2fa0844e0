import type { Kysely, Selectable } from "kysely";
import { type Clock, isoNow, systemClock } from "../clock.ts";
import { newId } from "../ids.ts";
import { parseJson } from "../json.ts";
import type { Database, McpApprovalsTable } from "../schema.ts";

export type McpApprovalStatus = McpApprovalsTable["status"];

/** A tool call made through /mcp that waits for, or got, an operator's decision. */
export interface McpApproval {
  id: string;
  tokenId: string;
  tokenName: string | null;
  username: string;
  nodeId: string;
  node: string;
  tool: string;
  source: string;
  arguments: unknown;
  status: McpApprovalStatus;
  requestedAt: string;
  deadline: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

export interface NewMcpApproval {
  tokenId: string;
  tokenName: string | null;
  username: string;
  nodeId: string;
  node: string;
  tool: string;
  source: string;
  arguments: unknown;
  deadline: string;
}

function toApproval(row: Selectable<McpApprovalsTable>): McpApproval {
  return {
    id: row.id,
    tokenId: row.token_id,
    tokenName: row.token_name,
    username: row.username,
    nodeId: row.node_id,
    node: row.node_name,
    tool: row.tool,
    source: row.source,
    arguments: parseJson(row.arguments, "mcp_approvals.arguments"),
    status: row.status,
    requestedAt: row.requested_at,
    deadline: row.deadline,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at,
    reason: row.reason,
  };
}

export class McpApprovalsRepo {
  private readonly db: Kysely<Database>;
  private readonly clock: Clock;

  constructor(db: Kysely<Database>, options: { clock?: Clock } = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
  }

  async create(input: NewMcpApproval): Promise<McpApproval> {
    const row = await this.db
      .insertInto("mcp_approvals")
      .values({
        id: newId(),
        token_id: input.tokenId,
        token_name: input.tokenName,
        username: input.username,
        node_id: input.nodeId,
        node_name: input.node,
        tool: input.tool,
        source: input.source,
        arguments: JSON.stringify(input.arguments ?? {}),
        status: "pending",
        requested_at: isoNow(this.clock),
        deadline: input.deadline,
        decided_by: null,
        decided_at: null,
        reason: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApproval(row);
  }

  async get(id: string): Promise<McpApproval | undefined> {
    const row = await this.db.selectFrom("mcp_approvals").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toApproval(row) : undefined;
  }

  /** Newest first. */
  async list(
    query: { status?: McpApprovalStatus | undefined; limit?: number | undefined } = {},
  ): Promise<McpApproval[]> {
    let q = this.db.selectFrom("mcp_approvals").selectAll();
    if (query.status) q = q.where("status", "=", query.status);
    const rows = await q
      .orderBy("requested_at", "desc")
      .orderBy("id", "desc")
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(toApproval);
  }

  /** Decides a pending call; false when it was no longer pending (decided first, expired). Atomic:
   * two operators deciding at once, on any replicas, get one decision. */
  async decide(
    id: string,
    decision: { status: "approved" | "denied" | "expired"; by: string | null; reason: string | null },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable("mcp_approvals")
      .set({
        status: decision.status,
        decided_by: decision.by,
        decided_at: isoNow(this.clock),
        reason: decision.reason,
      })
      .where("id", "=", id)
      .where("status", "=", "pending")
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
