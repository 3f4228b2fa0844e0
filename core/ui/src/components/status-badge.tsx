import { Badge, type BadgeProps } from "@mantine/core";
import type { NodeStatus, RunStatus } from "../api/types.ts";

const RUN_COLORS: Record<RunStatus, string> = {
  queued: "gray",
  running: "blue",
  waiting_approval: "yellow",
  succeeded: "green",
  failed: "red",
  cancelled: "orange",
  skipped: "gray",
};

export const RUN_STATUS_LABELS: Record<RunStatus, string> = {
  queued: "queued",
  running: "running",
  waiting_approval: "waiting for approval",
  succeeded: "succeeded",
  failed: "failed",
  cancelled: "cancelled",
  skipped: "skipped",
};

export function runStatusColor(status: RunStatus): string {
  return RUN_COLORS[status] ?? "gray";
}

export function RunStatusBadge({ status, ...props }: { status: RunStatus } & BadgeProps) {
  return (
    <Badge color={runStatusColor(status)} variant="light" {...props}>
      {RUN_STATUS_LABELS[status] ?? status}
    </Badge>
  );
}

/** `lastSeenAt` given and null: the Node never connected, which says more than "offline" (issue 22.5). */
export function NodeStatusBadge({
  status,
  lastSeenAt,
  ...props
}: { status: NodeStatus; lastSeenAt?: string | null } & BadgeProps) {
  const never = status !== "online" && lastSeenAt === null;
  return (
    <Badge color={status === "online" ? "green" : never ? "yellow" : "gray"} variant="dot" {...props}>
      {never ? "never connected" : status}
    </Badge>
  );
}

const MCP_COLORS: Record<string, string> = {
  running: "green",
  starting: "blue",
  restarting: "yellow",
  failed: "red",
  stopped: "gray",
};

export function McpStateBadge({ state }: { state: string | undefined }) {
  const value = state ?? "pending";
  return (
    <Badge color={MCP_COLORS[value] ?? "gray"} variant="light">
      {value}
    </Badge>
  );
}
