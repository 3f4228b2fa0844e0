import { Badge, Group, Table, Text, Tooltip } from "@mantine/core";
import { useState } from "react";
import { useRemoveMcp } from "../api/mcp.ts";
import { usePermissions } from "../api/me.ts";
import type { McpServer } from "../api/types.ts";
import { ConfirmDangerModal, DangerIconButton } from "./danger-action.tsx";
import { McpServerActions } from "./mcp-server-actions.tsx";
import { McpStateBadge } from "./status-badge.tsx";
import { TimeAgo } from "./time-ago.tsx";

export interface McpServerRow {
  nodeId: string;
  nodeName: string;
  server: McpServer;
}

function origin(server: McpServer): string {
  if (server.url) return server.url;
  if (server.preset) return `preset ${server.preset}`;
  return server.image ?? "—";
}

/** MCP servers with state, tool count and a remove action; `showNode` for the fleet-wide view. */
export function McpServersTable({ rows, showNode }: { rows: McpServerRow[]; showNode?: boolean }) {
  const remove = useRemoveMcp();
  const [target, setTarget] = useState<McpServerRow | null>(null);
  const { isAdmin } = usePermissions();

  return (
    <>
      <Table.ScrollContainer minWidth={640}>
        <Table verticalSpacing="sm">
          <Table.Thead>
            <Table.Tr>
              {showNode && <Table.Th>Node</Table.Th>}
              <Table.Th>Server</Table.Th>
              <Table.Th>Source</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Tools</Table.Th>
              <Table.Th>
                <span className="sr-only">Actions</span>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((row) => {
              const { server } = row;
              const toolNames = server.tools?.map((t) => t.name) ?? [];
              return (
                <Table.Tr key={`${row.nodeId}/${server.name}`}>
                  {showNode && <Table.Td>{row.nodeName}</Table.Td>}
                  <Table.Td>
                    <Text fw={600} size="sm">
                      {server.name}
                    </Text>
                    {server.network && typeof server.network === "object" ? (
                      <Text size="xs" c="dimmed">
                        network: only {server.network.allow.join(", ")}
                      </Text>
                    ) : server.network === "open" ? (
                      <Text size="xs" c="orange">
                        network: open
                      </Text>
                    ) : null}
                    {server.mounts && server.mounts.length > 0 && (
                      <Text size="xs" c="dimmed">
                        {server.mounts
                          .map((m) => `${m.source} → ${m.target}${m.readOnly === false ? " (rw)" : " (ro)"}`)
                          .join(", ")}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4}>
                      <Badge variant="outline" color="gray" tt="none">
                        {server.url ? "URL" : "container"}
                      </Badge>
                      <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
                        {origin(server)}
                      </Text>
                    </Group>
                  </Table.Td>
                  <Table.Td>
                    <McpStateBadge state={server.state} />
                    {server.error && (
                      <Text size="xs" c="red" mt={4} className="fc-pre">
                        {server.error}
                      </Text>
                    )}
                    {server.restarts ? (
                      <Text size="xs" c="dimmed">
                        {server.restarts} restarts
                      </Text>
                    ) : null}
                    {server.egress ? (
                      <Text size="xs" c={server.egress.refused > 0 ? "orange" : "dimmed"} data-testid="mcp-egress">
                        egress: {server.egress.allowed} allowed, {server.egress.refused} refused
                        {server.egress.lastRefused
                          ? ` (last: ${server.egress.lastRefused.target}, ${server.egress.lastRefused.reason})`
                          : ""}
                      </Text>
                    ) : null}
                    {server.skippedTools?.length ? (
                      <Text size="xs" c="dimmed" mt={2} data-testid="mcp-skipped-tools">
                        not offered to the model:{" "}
                        {server.skippedTools.map((tool) => `${tool.name} (${tool.reason})`).join("; ")}
                      </Text>
                    ) : null}
                    {server.lastCrash ? (
                      <Text size="xs" c="orange" mt={2} className="fc-pre">
                        last crash <TimeAgo iso={server.lastCrash.at} size="xs" />: {server.lastCrash.reason}
                      </Text>
                    ) : null}
                  </Table.Td>
                  <Table.Td>
                    {toolNames.length > 0 ? (
                      <Tooltip label={toolNames.join(", ")} multiline maw={360} withArrow>
                        <Text size="sm" tabIndex={0}>
                          {toolNames.length}
                        </Text>
                      </Tooltip>
                    ) : (
                      <Text size="sm">{toolNames.length}</Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap" justify="flex-end">
                      <McpServerActions nodeId={row.nodeId} nodeName={row.nodeName} server={server} />
                      {isAdmin && (
                        <DangerIconButton
                          tooltip="Stop and remove"
                          ariaLabel={`Remove ${server.name}`}
                          onClick={() => {
                            remove.reset();
                            setTarget(row);
                          }}
                        />
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <ConfirmDangerModal
        target={target}
        onClose={() => setTarget(null)}
        mutation={remove}
        variables={(row) => ({ nodeId: row.nodeId, name: row.server.name })}
        title="Remove MCP server"
        confirmLabel="Stop and remove"
      >
        Stop <b>{target?.server.name}</b> on <b>{target?.nodeName}</b> and remove it? Jobs lose its tools.
      </ConfirmDangerModal>
    </>
  );
}
