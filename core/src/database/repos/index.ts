import type { Kysely } from "kysely";
import type { SecretBox } from "../../secrets/secret-box.ts";
import type { Clock } from "../clock.ts";
import type { Database } from "../schema.ts";
import { AuditNamesRepo } from "./audit-names-repo.ts";
import { AuditRepo } from "./audit-repo.ts";
import { ChannelsRepo } from "./channels-repo.ts";
import { JobsRepo } from "./jobs-repo.ts";
import { LoginAttemptsRepo } from "./login-attempts-repo.ts";
import { MasterKeysRepo } from "./master-keys-repo.ts";
import { McpApprovalsRepo } from "./mcp-approvals-repo.ts";
import { McpServersRepo } from "./mcp-servers-repo.ts";
import { NodeRolloutsRepo } from "./node-rollouts-repo.ts";
import { NodeStatsRepo } from "./node-stats-repo.ts";
import { NodeUpdateResultsRepo } from "./node-update-results-repo.ts";
import { NodesRepo } from "./nodes-repo.ts";
import { ProvidersRepo } from "./providers-repo.ts";
import { RunDeliveriesRepo } from "./run-deliveries-repo.ts";
import { RunStatsRepo } from "./run-stats-repo.ts";
import { RunWaitsRepo } from "./run-waits-repo.ts";
import { RunsRepo } from "./runs-repo.ts";
import { ScheduleStateRepo } from "./schedule-state-repo.ts";
import { SecretsRepo } from "./secrets-repo.ts";
import { StepsRepo } from "./steps-repo.ts";
import { TokensRepo } from "./tokens-repo.ts";
import { UsersRepo } from "./users-repo.ts";
import { WebhookDeliveriesRepo } from "./webhook-deliveries-repo.ts";

export type { AuditName, AuditNameKind, AuditNames, AuditNameWanted } from "./audit-names-repo.ts";
export type { LoginAttemptCount } from "./login-attempts-repo.ts";
export type { NodeRollout, RolloutNode, RolloutNodeState, RolloutState } from "./node-rollouts-repo.ts";
export type { NodeStatsPoint } from "./node-stats-repo.ts";
export type { NodeUpdateResult } from "./node-update-results-repo.ts";
export type { RunDay } from "./run-stats-repo.ts";
export {
  AuditNamesRepo,
  AuditRepo,
  ChannelsRepo,
  JobsRepo,
  LoginAttemptsRepo,
  MasterKeysRepo,
  McpApprovalsRepo,
  McpServersRepo,
  NodeRolloutsRepo,
  NodeStatsRepo,
  NodesRepo,
  NodeUpdateResultsRepo,
  ProvidersRepo,
  RunDeliveriesRepo,
  RunStatsRepo,
  RunsRepo,
  RunWaitsRepo,
  ScheduleStateRepo,
  SecretsRepo,
  StepsRepo,
  TokensRepo,
  UsersRepo,
  WebhookDeliveriesRepo,
};

export interface Repositories {
  users: UsersRepo;
  tokens: TokensRepo;
  nodes: NodesRepo;
  secrets: SecretsRepo;
  providers: ProvidersRepo;
  jobs: JobsRepo;
  runs: RunsRepo;
  steps: StepsRepo;
  mcpServers: McpServersRepo;
  scheduleState: ScheduleStateRepo;
  audit: AuditRepo;
  auditNames: AuditNamesRepo;
  webhookDeliveries: WebhookDeliveriesRepo;
  masterKeys: MasterKeysRepo;
  loginAttempts: LoginAttemptsRepo;
  mcpApprovals: McpApprovalsRepo;
  channels: ChannelsRepo;
  deliveries: RunDeliveriesRepo;
  runStats: RunStatsRepo;
  nodeStats: NodeStatsRepo;
  runWaits: RunWaitsRepo;
  nodeRollouts: NodeRolloutsRepo;
  nodeUpdateResults: NodeUpdateResultsRepo;
}

/** Every repository over one database, for main.ts and tests. */
export function createRepositories(
  db: Kysely<Database>,
  box: SecretBox,
  options: { clock?: Clock } = {},
): Repositories {
  return {
    users: new UsersRepo(db, options),
    tokens: new TokensRepo(db, options),
    nodes: new NodesRepo(db, options),
    secrets: new SecretsRepo(db, box, options),
    providers: new ProvidersRepo(db, box, options),
    jobs: new JobsRepo(db, box, options),
    runs: new RunsRepo(db, options),
    steps: new StepsRepo(db, options),
    mcpServers: new McpServersRepo(db, options),
    scheduleState: new ScheduleStateRepo(db),
    audit: new AuditRepo(db, options),
    auditNames: new AuditNamesRepo(db),
    webhookDeliveries: new WebhookDeliveriesRepo(db, options),
    masterKeys: new MasterKeysRepo(db, options),
    loginAttempts: new LoginAttemptsRepo(db, options),
    mcpApprovals: new McpApprovalsRepo(db, options),
    channels: new ChannelsRepo(db, box, options),
    deliveries: new RunDeliveriesRepo(db, options),
    runStats: new RunStatsRepo(db, options),
    nodeStats: new NodeStatsRepo(db),
    runWaits: new RunWaitsRepo(db, options),
    nodeRollouts: new NodeRolloutsRepo(db, options),
    nodeUpdateResults: new NodeUpdateResultsRepo(db, options),
  };
}
