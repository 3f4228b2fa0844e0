import { ActionIcon, Button, Group, Tooltip } from "@mantine/core";
import { IconFileText, IconRefresh } from "@tabler/icons-react";
import { useState } from "react";
import { useRestartMcp } from "../api/mcp-ops.ts";
import { usePermissions } from "../api/me.ts";
import type { McpServer } from "../api/types.ts";
import { ConfirmModal } from "./confirm-modal.tsx";
import { McpLogsModal } from "./mcp-logs-modal.tsx";
import { ErrorAlert } from "./query-state.tsx";

/** A server that is not up (or never came up) is retried; one that runs is restarted, which interrupts it. */
function isDown(state: string | undefined): boolean {
  return state === "failed" || state === "restarting";
}

/**
 * Retry / Restart and Logs for one MCP server row. Retry of a failed server goes at once; Restart
 * of a running one asks first, since its tool calls in flight fail and its tools go away meanwhile.
 */
export function McpServerActions({
  nodeId,
  nodeName,
  server,
}: {
  nodeId: string;
  nodeName: string;
  server: McpServer;
}) {
  const { isAdmin, canOperate } = usePermissions();
  const restart = useRestartMcp();
  const [confirming, setConfirming] = useState(false);
  const [logsOpen, setLogsOpen] = useState(false);
  const down = isDown(server.state);
  const managedOrRemote = server.state !== "offline";

  const go = () => restart.mutate({ nodeId, name: server.name }, { onSuccess: () => setConfirming(false) });

  return (
    <>
      <Group gap={4} wrap="nowrap">
        {canOperate && (
          <Tooltip label="Logs" withArrow>
            <ActionIcon
              variant="subtle"
              color="gray"
              aria-label={`Logs of ${server.name}`}
              onClick={() => setLogsOpen(true)}
              disabled={!managedOrRemote}
            >
              <IconFileText size={18} />
            </ActionIcon>
          </Tooltip>
        )}
        {isAdmin && managedOrRemote && (
          <Button
            size="compact-xs"
            variant={down ? "filled" : "light"}
            color={down ? "orange" : "blue"}
            leftSection={<IconRefresh size={12} />}
            loading={restart.isPending && !confirming}
            onClick={() => {
              restart.reset();
              if (down) go();
              else setConfirming(true);
            }}
          >
            {down ? "Retry" : "Restart"}
          </Button>
        )}
      </Group>
      {restart.error && !confirming ? (
        <ErrorAlert error={restart.error} title={`${server.name} was not restarted`} />
      ) : null}
      <ConfirmModal
        opened={confirming}
        title={`Restart ${server.name}?`}
        confirmLabel="Restart"
        onConfirm={go}
        onClose={() => setConfirming(false)}
        loading={restart.isPending}
        error={restart.error}
      >
        <b>{server.name}</b> on <b>{nodeName}</b> is stopped and started from a fresh container. Tool calls it is
        running now fail, and jobs do not see its tools until it is up again.
      </ConfirmModal>
      <McpLogsModal
        target={logsOpen ? { nodeId, nodeName, name: server.name } : null}
        onClose={() => setLogsOpen(false)}
      />
    </>
  );
}
