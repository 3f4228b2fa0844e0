import { Badge, Card, Table, Text, Title } from "@mantine/core";
import type { Delivery } from "../api/types.ts";
import { CodeBlock } from "./code-block.tsx";
import { JsonView } from "./json-view.tsx";
import { TimeAgo } from "./time-ago.tsx";

/** Structured output: the validated JSON the job's schema asked for (CONTRACT: the run's `result`). */
export function RunResultCard({ result }: { result: unknown }) {
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Result
      </Title>
      <Text size="xs" c="dimmed" mb="xs">
        The answer as JSON, checked against the job's output schema
      </Text>
      <div data-testid="run-result">
        <JsonView value={result} />
      </div>
      <details style={{ marginTop: 8 }}>
        <summary>
          <Text span size="sm">
            JSON
          </Text>
        </summary>
        <CodeBlock code={JSON.stringify(result, null, 2)} label="run result JSON" />
      </details>
    </Card>
  );
}

const STATUS_COLOR = { delivered: "green", pending: "yellow", failed: "red" } as const;

/** Where this run was announced and whether it got there (retries included). */
export function RunDeliveries({ deliveries }: { deliveries: Delivery[] }) {
  if (deliveries.length === 0) return null;
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Notifications
      </Title>
      <Table.ScrollContainer minWidth={520}>
        <Table verticalSpacing="xs" aria-label="Notifications">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Channel</Table.Th>
              <Table.Th>Event</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Attempts</Table.Th>
              <Table.Th>When</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {deliveries.map((d) => (
              <Table.Tr key={d.id ?? `${d.channel}-${d.event}`}>
                <Table.Td>
                  <Text size="sm" ff="monospace">
                    {d.channel}
                  </Text>
                  {d.kind ? (
                    <Text size="xs" c="dimmed">
                      {d.kind}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>{d.event.replace("_", " ")}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_COLOR[d.status]} variant="light">
                    {d.status}
                  </Badge>
                  {d.lastError ? (
                    <Text size="xs" c={d.status === "failed" ? "red" : "dimmed"} lineClamp={2}>
                      {d.lastError}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>{d.attempts}</Table.Td>
                <Table.Td>
                  {d.status === "delivered" && d.deliveredAt ? (
                    <TimeAgo iso={d.deliveredAt} />
                  ) : d.status === "pending" && d.nextAttemptAt ? (
                    <Text size="sm">
                      next try <TimeAgo iso={d.nextAttemptAt} />
                    </Text>
                  ) : d.createdAt ? (
                    <TimeAgo iso={d.createdAt} />
                  ) : null}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Card>
  );
}
