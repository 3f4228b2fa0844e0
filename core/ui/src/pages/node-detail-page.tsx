import { Anchor, Badge, Button, Card, Group, Modal, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconArrowLeft, IconKey, IconPencil, IconPlugConnected, IconTrash } from "@tabler/icons-react";
import type { ReactNode } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useNodeMcpServers } from "../api/mcp.ts";
import { usePermissions } from "../api/me.ts";
import { useNode, useRevokeNode, useRotateNodeToken } from "../api/nodes.ts";
import { ConfirmModal } from "../components/confirm-modal.tsx";
import { EditNodeModal } from "../components/edit-node-modal.tsx";
import { Empty } from "../components/empty-state.tsx";
import { NodeTokenView } from "../components/enroll-node-modal.tsx";
import { Labels } from "../components/labels.tsx";
import { McpServersTable } from "../components/mcp-servers-table.tsx";
import { NodeActivity } from "../components/node-activity.tsx";
import { NodeSparklines } from "../components/node-sparklines.tsx";
import { NodeStats } from "../components/node-stats.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
import { NodeStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div" mt={2}>
        {children}
      </Text>
    </div>
  );
}

/** Issues a new enrollment token for a Node (shown once). Nothing changes on the Node until it
 * starts with the new token, so this is safe to do ahead of time. */
function RotateTokenModal({
  nodeId,
  nodeName,
  opened,
  onClose,
}: {
  nodeId: string;
  nodeName: string;
  opened: boolean;
  onClose: () => void;
}) {
  const rotate = useRotateNodeToken();
  const issued = rotate.data;
  const close = () => {
    rotate.reset();
    onClose();
  };
  return (
    <Modal
      opened={opened}
      onClose={close}
      title={issued ? `New enrollment token for “${nodeName}”` : "Rotate enrollment token"}
      size={issued ? "xl" : "md"}
      // Once the token is on screen, a stray click outside must not throw it away.
      closeOnClickOutside={!issued}
      closeOnEscape={!issued}
    >
      {issued ? (
        <NodeTokenView node={issued} onDone={close} rotated />
      ) : (
        <Stack>
          <Text size="sm">
            Issue a new enrollment token for <b>{nodeName}</b>? Any earlier unused token stops working. The Node's
            current key keeps working until the Node starts with the new token and registers a new key — use this to
            re-key a Node, move it to another server, or recover one that lost its data directory.
          </Text>
          {rotate.error ? <ErrorAlert error={rotate.error} title="No token issued" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button loading={rotate.isPending} onClick={() => rotate.mutate(nodeId)} data-autofocus>
              Issue new token
            </Button>
          </Group>
        </Stack>
      )}
    </Modal>
  );
}

export default function NodeDetailPage() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  // Stats arrive with the Node's heartbeats; a few seconds keeps them live without hammering.
  const node = useNode(id, { refetchInterval: 3_000 });
  const mcp = useNodeMcpServers(id);
  const revoke = useRevokeNode();
  const [revokeOpened, revokeModal] = useDisclosure(false);
  const [rotateOpened, rotateModal] = useDisclosure(false);
  const [editOpened, editModal] = useDisclosure(false);
  const { isAdmin } = usePermissions();
  const data = node.data;

  return (
    <>
      <Anchor component={Link} to="/nodes" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} aria-hidden /> Nodes
        </Group>
      </Anchor>
      <QueryState isPending={node.isPending} error={node.error} onRetry={() => node.refetch()}>
        {data && (
          <Stack gap="lg" mt="sm">
            <PageHeader
              title={
                <Group gap="sm">
                  {data.name}
                  <NodeStatusBadge status={data.status} lastSeenAt={data.lastSeenAt} size="lg" />
                </Group>
              }
              actions={
                isAdmin && (
                  <>
                    <Button variant="default" leftSection={<IconPencil size={16} />} onClick={editModal.open}>
                      Edit
                    </Button>
                    <Button variant="default" leftSection={<IconKey size={16} />} onClick={rotateModal.open}>
                      Rotate token
                    </Button>
                    <Button
                      color="red"
                      variant="light"
                      leftSection={<IconTrash size={16} />}
                      onClick={() => {
                        revoke.reset();
                        revokeModal.open();
                      }}
                    >
                      Revoke
                    </Button>
                  </>
                )
              }
            />
            <Card withBorder>
              <SimpleGrid cols={{ base: 2, md: 4 }}>
                <Field label="Version">{data.version ?? "—"}</Field>
                <Field label="Last seen">
                  {data.status === "online" ? "connected now" : <TimeAgo iso={data.lastSeenAt} />}
                </Field>
                <Field label="System">{[data.hostname, data.os, data.arch].filter(Boolean).join(" · ") || "—"}</Field>
                <Field label="Labels">
                  <Labels labels={data.labels} />
                </Field>
              </SimpleGrid>
              {data.capabilities && (
                <Group gap="xs" mt="md">
                  <Badge variant="light" color={data.capabilities.exec ? "orange" : "gray"} tt="none">
                    {data.capabilities.exec ? "exec_command allowed" : "no exec_command"}
                  </Badge>
                  <Badge variant="light" color={data.capabilities.docker ? "blue" : "gray"} tt="none">
                    {data.capabilities.docker ? "Docker available" : "no Docker"}
                  </Badge>
                  <Badge variant="light" color="gray" tt="none">
                    {data.capabilities.readRoots.length
                      ? `reads below ${data.capabilities.readRoots.join(", ")}`
                      : "no read roots (read_file refuses)"}
                  </Badge>
                </Group>
              )}
            </Card>

            <section aria-labelledby="stats-title">
              <Title order={3} id="stats-title" mb="sm">
                System
              </Title>
              {data.stats ? (
                <NodeStats stats={data.stats} />
              ) : (
                <Text size="sm" c="dimmed">
                  {data.status === "online"
                    ? "Waiting for the Node's next heartbeat…"
                    : "No live figures while the Node is offline."}
                </Text>
              )}
              <NodeSparklines nodeId={data.id} />
            </section>

            <NodeActivity nodeId={data.id} />

            <section aria-labelledby="tools-title">
              <Title order={3} id="tools-title" mb="sm">
                Tools
              </Title>
              {data.tools.length === 0 ? (
                <Empty title="No tools announced">The Node announces its tools when it connects.</Empty>
              ) : (
                <Table.ScrollContainer minWidth={560}>
                  <Table verticalSpacing="xs">
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>Name</Table.Th>
                        <Table.Th>Source</Table.Th>
                        <Table.Th>Description</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {data.tools.map((tool) => (
                        <Table.Tr key={`${tool.source}/${tool.name}`}>
                          <Table.Td ff="monospace" className="fc-nowrap">
                            {tool.name}
                          </Table.Td>
                          <Table.Td>
                            <Badge
                              variant="light"
                              color={tool.source === "builtin" ? "gray" : "grape"}
                              tt="none"
                              // Long descriptions squeeze this column; the source must stay readable.
                              styles={{ label: { overflow: "visible" } }}
                            >
                              {tool.source}
                            </Badge>
                          </Table.Td>
                          <Table.Td>
                            <Text size="sm" c="dimmed" lineClamp={3}>
                              {tool.description || "—"}
                            </Text>
                          </Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              )}
            </section>

            <section aria-labelledby="mcp-title">
              <Group justify="space-between" mb="sm">
                <Title order={3} id="mcp-title">
                  MCP servers
                </Title>
                {isAdmin && (
                  <Button
                    component={Link}
                    to={`/mcp-servers?node=${encodeURIComponent(data.id)}`}
                    variant="light"
                    leftSection={<IconPlugConnected size={16} />}
                  >
                    Add from the marketplace
                  </Button>
                )}
              </Group>
              {mcp.error ? (
                <ErrorAlert error={mcp.error} title="MCP servers could not be loaded" onRetry={() => mcp.refetch()} />
              ) : (mcp.data ?? []).length === 0 ? (
                <Text size="sm" c="dimmed">
                  {mcp.isPending ? "Loading…" : "None installed on this Node."}
                </Text>
              ) : (
                <McpServersTable
                  rows={(mcp.data ?? []).map((server) => ({ nodeId: data.id, nodeName: data.name, server }))}
                />
              )}
            </section>
          </Stack>
        )}
      </QueryState>
      {data && <EditNodeModal node={data} opened={editOpened} onClose={editModal.close} />}
      {data && (
        <RotateTokenModal nodeId={data.id} nodeName={data.name} opened={rotateOpened} onClose={rotateModal.close} />
      )}
      <ConfirmModal
        opened={revokeOpened}
        onClose={revokeModal.close}
        title="Revoke Node"
        confirmLabel="Revoke"
        loading={revoke.isPending}
        error={revoke.error}
        onConfirm={() =>
          revoke.mutate(id, {
            onSuccess: () => {
              revokeModal.close();
              navigate("/nodes", { replace: true });
            },
          })
        }
      >
        Revoke <b>{data?.name}</b>? Its token stops working and its connection is closed at once. Jobs that target it
        will fail until you enroll it again.
      </ConfirmModal>
    </>
  );
}
