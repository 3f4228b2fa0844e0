import { Anchor, Badge, Button, Group, Table, Text, Tooltip } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlus, IconRefresh } from "@tabler/icons-react";
import { Link } from "react-router";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import type { FleetNode } from "../api/types.ts";
import { Empty } from "../components/empty-state.tsx";
import { EnrollNodeModal } from "../components/enroll-node-modal.tsx";
import { Labels } from "../components/labels.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { RolloutPanel } from "../components/rollout-panel.tsx";
import { NodeStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { UpdateNodesModal } from "../components/update-nodes-modal.tsx";

export default function NodesPage() {
  const nodes = useNodes({ refetchInterval: 5_000 });
  const [enrollOpened, enrollModal] = useDisclosure(false);
  const [updateOpened, updateModal] = useDisclosure(false);
  const { isAdmin } = usePermissions();
  const list = [...(nodes.data ?? [])].sort(
    (a, b) => Number(b.status === "online") - Number(a.status === "online") || a.name.localeCompare(b.name),
  );

  return (
    <>
      <PageHeader
        title="Nodes"
        description="Servers running the FabriCore Node. They dial out to this Core; nothing listens on them."
        actions={
          isAdmin && (
            <Group gap="xs">
              <Button variant="default" leftSection={<IconRefresh size={16} />} onClick={updateModal.open}>
                Update Nodes
              </Button>
              <Button leftSection={<IconPlus size={16} />} onClick={enrollModal.open}>
                Enroll a Node
              </Button>
            </Group>
          )
        }
      />
      <RolloutPanel isAdmin={isAdmin} />
      <QueryState isPending={nodes.isPending} error={nodes.error} onRetry={() => nodes.refetch()}>
        {list.length === 0 ? (
          <Empty title="No Nodes yet">Enroll a Node, then start it on the server with the command shown.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table highlightOnHover verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Version</Table.Th>
                  <Table.Th>Labels</Table.Th>
                  <Table.Th>Tools</Table.Th>
                  <Table.Th>Last seen</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((node) => (
                  <Table.Tr key={node.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/nodes/${node.id}`} fw={600}>
                        {node.name}
                      </Anchor>
                      {node.hostname && node.hostname !== node.name && (
                        <Text size="xs" c="dimmed">
                          {node.hostname}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <NodeStatusBadge status={node.status} lastSeenAt={node.lastSeenAt} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {node.version ?? "—"}
                      </Text>
                      {node.updateAvailable && node.servedVersion && (
                        <Badge color="yellow" variant="light" size="sm" tt="none">
                          update available: v{node.version} → v{node.servedVersion}
                        </Badge>
                      )}
                      <LastUpdateBadge node={node} />
                    </Table.Td>
                    <Table.Td>
                      <Labels labels={node.labels} />
                    </Table.Td>
                    <Table.Td>{node.tools?.length ?? 0}</Table.Td>
                    <Table.Td>
                      {node.status === "online" ? <Text size="sm">now</Text> : <TimeAgo iso={node.lastSeenAt} />}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      <EnrollNodeModal opened={enrollOpened} onClose={enrollModal.close} />
      <UpdateNodesModal nodes={list} opened={updateOpened} onClose={updateModal.close} />
    </>
  );
}

/** The Node's last reported update outcome when it went wrong (refused, rolled back, failed). */
function LastUpdateBadge({ node }: { node: FleetNode }) {
  const last = node.lastUpdate;
  if (!last || last.outcome === "updated") return null;
  return (
    <Tooltip label={last.reason ?? last.outcome} multiline maw={360}>
      <Badge color="red" variant="light" size="sm" tt="none">
        v{last.to} {last.outcome.replace("_", " ")}
        {last.code && last.code !== last.outcome ? ` (${last.code})` : ""}
      </Badge>
    </Tooltip>
  );
}
