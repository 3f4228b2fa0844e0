import { Anchor, Badge, Card, Group, SegmentedControl, Table, Text, Title } from "@mantine/core";
import { useState } from "react";
import { Link } from "react-router";
import type { FanOutSummary, Run, RunChild } from "../api/types.ts";
import { formatDuration, runDuration } from "../lib/format.ts";
import { RunStatusBadge } from "./status-badge.tsx";

/** The first line of what a child said (its answer, else why it did not finish), cut for a table cell. */
function firstLine(child: RunChild): string {
  const text = (child.status === "succeeded" ? child.output : (child.error ?? child.output)) ?? "";
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return line.length > 140 ? `${line.slice(0, 140)}…` : line;
}

const NOT_OK = new Set(["failed", "skipped", "cancelled"]);

function SummaryBadges({ summary }: { summary: FanOutSummary }) {
  const parts: Array<[string, number | undefined, string]> = [
    ["succeeded", summary.succeeded, "green"],
    ["failed", summary.failed, "red"],
    ["skipped", summary.skipped, "gray"],
    ["cancelled", summary.cancelled, "orange"],
    ["running", summary.running, "blue"],
    ["queued", summary.queued, "gray"],
  ];
  return (
    <Group gap={6} data-testid="fan-out-summary">
      <Badge variant="outline" color="dark">
        {summary.total} Nodes
      </Badge>
      {parts
        .filter(([, n]) => (n ?? 0) > 0)
        .map(([label, n, color]) => (
          <Badge key={label} variant="light" color={color}>
            {n} {label}
          </Badge>
        ))}
    </Group>
  );
}

/** A fan-out run's Nodes: status, duration, first line of output, link to each child's transcript.
 * The page re-reads the run while it is active, so the table follows the children live. */
export function RunChildren({ run }: { run: Run }) {
  const [show, setShow] = useState<"all" | "problems">("all");
  const children = run.children ?? [];
  const shown = show === "all" ? children : children.filter((c) => NOT_OK.has(c.status));
  return (
    <Card withBorder data-testid="fan-out-children">
      <Group justify="space-between" mb="sm" wrap="wrap">
        <Group gap="sm">
          <Title order={4}>Nodes</Title>
          {run.summary && <SummaryBadges summary={run.summary} />}
        </Group>
        <SegmentedControl
          size="xs"
          value={show}
          onChange={(v) => setShow(v as "all" | "problems")}
          data={[
            { value: "all", label: "All" },
            { value: "problems", label: "Failed or skipped" },
          ]}
          aria-label="Which Nodes to show"
        />
      </Group>
      {shown.length === 0 ? (
        <Text size="sm" c="dimmed">
          {children.length === 0 ? "No child runs yet." : "Every Node succeeded."}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Node</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th>Output</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {shown.map((child) => (
                <Table.Tr key={child.id}>
                  <Table.Td>
                    <Text size="sm" fw={600}>
                      {child.nodeName ?? child.nodeId ?? "?"}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <RunStatusBadge status={child.status} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">
                      {child.startedAt ? formatDuration(runDuration(child.startedAt, child.finishedAt ?? null)) : "—"}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm" c={child.status === "succeeded" ? undefined : "dimmed"} lineClamp={1}>
                      {firstLine(child)}
                    </Text>
                  </Table.Td>
                  <Table.Td>
                    <Anchor component={Link} to={`/runs/${child.id}`} size="sm">
                      transcript
                    </Anchor>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Card>
  );
}

/** On a child's page: which fan-out it belongs to and which Node it worked on. */
export function ParentRunLink({ run }: { run: Run }) {
  if (!run.parentRunId) return null;
  return (
    <Text size="sm" data-testid="parent-run-link">
      One Node of a fan-out: {run.nodeName ?? run.nodeId} ·{" "}
      <Anchor component={Link} to={`/runs/${run.parentRunId}`}>
        the whole fleet run
      </Anchor>
    </Text>
  );
}
