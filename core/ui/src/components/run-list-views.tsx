import { Anchor, Card, Group, Stack, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import type { Run } from "../api/types.ts";
import { formatDuration, formatNumber, runDuration, shortId } from "../lib/format.ts";
import { RunStatusBadge } from "./status-badge.tsx";
import { TimeAgo } from "./time-ago.tsx";

/* The runs list two ways (issue 22.4, 22.7): a table with Node(s), model, tokens and duration on a
 * wide screen, and one card per run on a phone, where the table's status column was off-screen. */

function tokens(run: Run): string {
  const total = (run.usage?.promptTokens ?? 0) + (run.usage?.completionTokens ?? 0);
  return total ? formatNumber(total) : "—";
}

function list(values: string[] | undefined): string {
  return values?.length ? values.join(", ") : "—";
}

function Failure({ run }: { run: Run }) {
  if (!run.error || run.status !== "failed") return null;
  return (
    <Text size="xs" c="red" lineClamp={1} maw={280} title={run.error}>
      {run.error}
    </Text>
  );
}

export function RunsTable({ runs, jobName }: { runs: Run[]; jobName: (id: string) => string | undefined }) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table highlightOnHover verticalSpacing="sm" data-testid="runs-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Run</Table.Th>
            <Table.Th>Job</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Trigger</Table.Th>
            <Table.Th>Node(s)</Table.Th>
            <Table.Th>Model</Table.Th>
            <Table.Th ta="right">Tokens</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th ta="right">Duration</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {runs.map((run) => (
            <Table.Tr key={run.id}>
              <Table.Td>
                <Anchor component={Link} to={`/runs/${run.id}`} ff="monospace" size="sm">
                  {shortId(run.id)}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/jobs/${run.jobId}`} size="sm" c="inherit">
                  {jobName(run.jobId) ?? run.jobId}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <RunStatusBadge status={run.status} />
                <Failure run={run} />
              </Table.Td>
              <Table.Td>
                <Text size="sm">{run.trigger}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{list(run.nodes)}</Text>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{list(run.models)}</Text>
              </Table.Td>
              <Table.Td ta="right">
                <Text size="sm">{tokens(run)}</Text>
              </Table.Td>
              <Table.Td>
                <TimeAgo iso={run.startedAt ?? run.createdAt} />
              </Table.Td>
              <Table.Td ta="right">
                <Text size="sm">{formatDuration(runDuration(run.startedAt, run.finishedAt))}</Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function RunCards({ runs, jobName }: { runs: Run[]; jobName: (id: string) => string | undefined }) {
  return (
    <Stack gap="sm" data-testid="run-cards">
      {runs.map((run) => (
        <Card
          key={run.id}
          withBorder
          padding="sm"
          component={Link}
          to={`/runs/${run.id}`}
          aria-label={`Run ${shortId(run.id)}`}
        >
          <Group justify="space-between" wrap="nowrap" gap="xs">
            <Text fw={600} size="sm" truncate>
              {jobName(run.jobId) ?? run.jobId}
            </Text>
            <RunStatusBadge status={run.status} />
          </Group>
          <Failure run={run} />
          <Text size="xs" c="dimmed" mt={4}>
            {run.trigger} · {list(run.nodes)} · {tokens(run)} tokens ·{" "}
            {formatDuration(runDuration(run.startedAt, run.finishedAt))}
          </Text>
          <Group gap={4} mt={2}>
            <Text size="xs" c="dimmed">
              {list(run.models)} ·
            </Text>
            <TimeAgo iso={run.startedAt ?? run.createdAt} size="xs" />
          </Group>
        </Card>
      ))}
    </Stack>
  );
}
