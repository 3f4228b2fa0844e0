import { Alert, Badge, Button, Group, Paper, Progress, Stack, Table, Text, Title } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import {
  type Rollout,
  type RolloutNode,
  useCancelRollout,
  useResumeRollout,
  useRollout,
  useRollouts,
} from "../api/rollouts.ts";
import { ErrorAlert } from "./query-state.tsx";
import { TimeAgo } from "./time-ago.tsx";

/* The Nodes page's rollout panel (issue 18): the latest staged rollout, its batches and each Node's
 * state with the reason, polled while it runs; admins can cancel or resume it. */

const ROLLOUT_COLOR: Record<Rollout["state"], string> = {
  running: "blue",
  paused: "orange",
  completed: "green",
  cancelled: "gray",
};

const NODE_COLOR: Record<RolloutNode["state"], string> = {
  pending: "gray",
  updating: "blue",
  updated: "green",
  refused: "red",
  rolled_back: "red",
  failed: "red",
  timeout: "red",
  offline_skipped: "yellow",
  cancelled: "gray",
};

const label = (state: string) => state.replace("_", " ");

export function RolloutPanel({ isAdmin }: { isAdmin: boolean }) {
  const list = useRollouts();
  const latest = list.data?.rollouts[0];
  const detail = useRollout(latest?.id);
  const rollout = detail.data?.id === latest?.id ? detail.data : undefined;
  if (!latest) return null;
  return (
    <Paper component="section" aria-label="Rollout" withBorder p="md" mb="lg">
      {rollout ? (
        <RolloutView rollout={rollout} isAdmin={isAdmin} policy={list.data?.policy} />
      ) : (
        <Text c="dimmed">Loading the rollout…</Text>
      )}
      {detail.error ? <ErrorAlert error={detail.error} title="Cannot read the rollout" /> : null}
    </Paper>
  );
}

function RolloutView({
  rollout,
  isAdmin,
  policy,
}: {
  rollout: Rollout;
  isAdmin: boolean;
  policy?: string | undefined;
}) {
  const cancel = useCancelRollout();
  const resume = useResumeRollout();
  const done = rollout.nodes.filter((n) => !["pending", "updating"].includes(n.state)).length;
  const active = rollout.state === "running" || rollout.state === "paused";
  const batches = [...new Set(rollout.nodes.map((n) => n.batch))];
  const target =
    "selector" in rollout.target ? `selector ${rollout.target.selector}` : `${rollout.nodes.length} chosen Nodes`;
  return (
    <Stack gap="sm">
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={3} size="h4">
            Rollout to v{rollout.version}
          </Title>
          <Badge color={ROLLOUT_COLOR[rollout.state]} variant="light">
            {rollout.state}
          </Badge>
        </Group>
        {isAdmin && active && (
          <Group gap="xs">
            {rollout.state === "paused" && (
              <Button size="xs" onClick={() => resume.mutate(rollout.id)} loading={resume.isPending}>
                Resume with the next batch
              </Button>
            )}
            <Button
              size="xs"
              color="red"
              variant="light"
              onClick={() => cancel.mutate(rollout.id)}
              loading={cancel.isPending}
            >
              Cancel rollout
            </Button>
          </Group>
        )}
      </Group>
      <Text size="sm" c="dimmed">
        {target}, {rollout.batchSize} at a time · batch {Math.max(rollout.currentBatch, 1)} of {rollout.batchCount} ·
        started by {rollout.createdBy} <TimeAgo iso={rollout.createdAt} />
        {policy === "staged" ? " · Nodes update only through rollouts" : ""}
      </Text>
      <Progress
        value={rollout.nodes.length ? (done / rollout.nodes.length) * 100 : 100}
        aria-label={`${done} of ${rollout.nodes.length} Nodes done`}
      />
      {rollout.state === "paused" && rollout.reason && (
        <Alert color="orange" icon={<IconAlertTriangle size={16} />} title="Paused">
          {rollout.reason}
        </Alert>
      )}
      {cancel.error ? <ErrorAlert error={cancel.error} title="Not cancelled" /> : null}
      {resume.error ? <ErrorAlert error={resume.error} title="Not resumed" /> : null}
      <Table.ScrollContainer minWidth={560}>
        <Table verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Batch</Table.Th>
              <Table.Th>Node</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Reason</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {batches.flatMap((batch) =>
              rollout.nodes
                .filter((n) => n.batch === batch)
                .map((node, i) => (
                  <Table.Tr
                    key={node.nodeId}
                    bg={batch === rollout.currentBatch && active ? "var(--mantine-color-blue-light)" : undefined}
                  >
                    <Table.Td>{i === 0 ? batch : ""}</Table.Td>
                    <Table.Td>
                      <Text size="sm" fw={500}>
                        {node.name}
                      </Text>
                      {node.fromVersion && (
                        <Text size="xs" c="dimmed" ff="monospace">
                          from v{node.fromVersion}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge
                        color={NODE_COLOR[node.state]}
                        variant="light"
                        tt="none"
                        style={{ minWidth: "max-content" }}
                      >
                        {label(node.state)}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">
                        {node.code && node.code !== node.state ? `${node.code}: ` : ""}
                        {node.reason ?? ""}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                )),
            )}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}
