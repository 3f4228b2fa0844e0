import { Alert, Anchor, Text } from "@mantine/core";
import { IconShieldQuestion } from "@tabler/icons-react";
import { Link } from "react-router";
import { usePendingMcpApprovals } from "../api/mcp-clients.ts";
import { usePermissions } from "../api/me.ts";

/** MCP clients' calls held for a decision (their token's approval policy), for those who decide;
 * renders nothing when none waits or the user cannot decide. The client waits meanwhile. */
export function McpApprovalsBanner() {
  const { canOperate } = usePermissions();
  const pending = usePendingMcpApprovals(canOperate);
  const calls = pending.data ?? [];
  if (!canOperate || calls.length === 0) return null;
  const first = calls[0]!;
  return (
    <Alert
      color="yellow"
      variant="light"
      icon={<IconShieldQuestion size={20} />}
      title={
        calls.length === 1 ? "1 MCP call is waiting for approval" : `${calls.length} MCP calls are waiting for approval`
      }
      role="status"
    >
      <Text size="sm">
        {first.username} via “{first.tokenName ?? first.tokenId}” wants{" "}
        <Text span ff="monospace">
          {first.tool}
        </Text>{" "}
        on {first.node}
        {calls.length > 1 ? ` and ${calls.length - 1} more` : ""}.{" "}
        <Anchor component={Link} to="/mcp-clients" fw={600}>
          Decide on the MCP clients page
        </Anchor>
      </Text>
    </Alert>
  );
}
