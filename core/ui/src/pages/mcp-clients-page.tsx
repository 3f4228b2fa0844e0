import {
  Anchor,
  Badge,
  Button,
  Card,
  Center,
  Group,
  Loader,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconCheck, IconHandStop, IconShieldQuestion } from "@tabler/icons-react";
import { useState } from "react";
import { Link } from "react-router";
import { errorMessage } from "../api/client.ts";
import { type McpApproval, useDecideMcpApproval, useMcpCalls, usePendingMcpApprovals } from "../api/mcp-clients.ts";
import { usePermissions } from "../api/me.ts";
import { CodeBlock } from "../components/code-block.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { formatDuration, toDisplayText } from "../lib/format.ts";

const OUTCOME_COLOR: Record<string, string> = { ok: "green", failed: "red", denied: "orange" };

/** One held call: who asks (user and token), for what (tool, Node, arguments), Approve / Deny. */
function PendingCall({ call }: { call: McpApproval }) {
  const decide = useDecideMcpApproval();
  const [reason, setReason] = useState("");
  const label = `${call.tool} on ${call.node}`;
  const run = (approve: boolean) =>
    decide.mutate(
      { id: call.id, approve, ...(reason.trim() ? { reason: reason.trim() } : {}) },
      {
        onSuccess: () =>
          notifications.show({
            color: approve ? "green" : "orange",
            message: approve ? `Approved ${label}` : `Denied ${label}; the client is told why`,
          }),
        onError: (e) => notifications.show({ color: "red", title: "Not decided", message: errorMessage(e) }),
      },
    );
  return (
    <Card withBorder padding="md" style={{ borderColor: "var(--mantine-color-yellow-filled)" }}>
      <section aria-label={`MCP call ${label}`}>
        <Group justify="space-between" align="flex-start" mb="xs">
          <div>
            <Text fw={600} ff="monospace">
              {call.tool}
              {call.source !== "builtin" ? (
                <Text span c="dimmed" size="xs">
                  {" "}
                  ({call.source})
                </Text>
              ) : null}{" "}
              <Text span fw={400} ff="inherit" c="dimmed">
                on
              </Text>{" "}
              {call.node}
            </Text>
            <Text size="sm" c="dimmed">
              {call.username} with the token “{call.tokenName ?? call.tokenId}”, <TimeAgo iso={call.requestedAt} />
              {" · expires "}
              <TimeAgo iso={call.deadline} />
            </Text>
          </div>
        </Group>
        <CodeBlock code={toDisplayText(call.arguments ?? {})} label={`arguments of ${label}`} />
        <Group mt="sm" align="flex-end">
          <TextInput
            label="Reason"
            placeholder="optional; sent to the client with a denial"
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            maxLength={2000}
            style={{ flex: 1 }}
          />
          <Button
            color="green"
            leftSection={<IconCheck size={16} />}
            loading={decide.isPending && decide.variables?.approve === true}
            onClick={() => run(true)}
            aria-label={`Approve ${label}`}
          >
            Approve
          </Button>
          <Button
            color="red"
            variant="light"
            leftSection={<IconHandStop size={16} />}
            loading={decide.isPending && decide.variables?.approve === false}
            onClick={() => run(false)}
            aria-label={`Deny ${label}`}
          >
            Deny
          </Button>
        </Group>
      </section>
    </Card>
  );
}

/**
 * What MCP clients (LM Studio, Claude Desktop, editors) do through `/mcp`: the calls their tokens'
 * approval policies hold, decided here, and the calls made, from the audit log.
 */
export default function McpClientsPage() {
  const { known, canOperate } = usePermissions();
  const pending = usePendingMcpApprovals(canOperate);
  const calls = useMcpCalls(canOperate);
  const header = (
    <PageHeader
      title="MCP clients"
      description={
        <>
          Tool calls made through this Core's{" "}
          <Text span ff="monospace">
            /mcp
          </Text>{" "}
          endpoint.{" "}
          <Anchor component={Link} to="/tokens">
            Connect a client
          </Anchor>{" "}
          on the API tokens page.
        </>
      }
    />
  );
  if (!known)
    return (
      <Center py="xl">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (!canOperate)
    return (
      <>
        {header}
        <Empty title="Operators only">Operators and admins see and decide MCP clients' calls.</Empty>
      </>
    );
  const waiting = pending.data ?? [];
  const rows = calls.data ?? [];
  return (
    <>
      {header}
      <Group gap="xs" mb="sm">
        <IconShieldQuestion size={20} aria-hidden />
        <Title order={4}>Waiting for approval</Title>
        {waiting.length > 0 ? (
          <Badge color="yellow" variant="light">
            {waiting.length}
          </Badge>
        ) : null}
      </Group>
      <QueryState isPending={pending.isPending} error={pending.error} onRetry={() => pending.refetch()}>
        {waiting.length === 0 ? (
          <Text size="sm" c="dimmed" mb="lg">
            No call is waiting. A token's approval policy (set when it is created) holds calls here; the client waits
            meanwhile.
          </Text>
        ) : (
          <Stack mb="lg">
            {waiting.map((call) => (
              <PendingCall key={call.id} call={call} />
            ))}
          </Stack>
        )}
      </QueryState>
      <Title order={4} mb="sm">
        Recent calls
      </Title>
      <QueryState isPending={calls.isPending} error={calls.error} onRetry={() => calls.refetch()}>
        {rows.length === 0 ? (
          <Empty title="No MCP calls yet">Calls appear here as soon as a client makes one.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="xs" aria-label="MCP calls">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>When</Table.Th>
                  <Table.Th>User</Table.Th>
                  <Table.Th>Token</Table.Th>
                  <Table.Th>Call</Table.Th>
                  <Table.Th>Outcome</Table.Th>
                  <Table.Th>Took</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((call) => (
                  <Table.Tr key={call.id}>
                    <Table.Td>
                      <TimeAgo iso={call.at} />
                    </Table.Td>
                    <Table.Td>{call.user}</Table.Td>
                    <Table.Td>{call.token ?? "—"}</Table.Td>
                    <Table.Td>
                      <Text size="sm" ff="monospace">
                        {call.target}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={6} wrap="nowrap">
                        <Badge variant="light" color={OUTCOME_COLOR[call.outcome] ?? "gray"}>
                          {call.outcome}
                        </Badge>
                        {call.detail.reason ? (
                          <Text size="xs" c="dimmed">
                            {call.detail.reason}
                          </Text>
                        ) : null}
                      </Group>
                    </Table.Td>
                    <Table.Td>
                      {call.detail.durationMs !== undefined ? formatDuration(call.detail.durationMs) : "—"}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
    </>
  );
}
