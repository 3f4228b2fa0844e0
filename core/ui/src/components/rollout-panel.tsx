import { Alert, Badge, Box, Button, Group, Paper, Progress, Stack, Text, Title } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { type Rollout, useCancelRollout, useResumeRollout, useRollout, useRollouts } from "../api/rollouts.ts";
import { ErrorAlert } from "./query-state.tsx";
import { RolloutNodeCards, RolloutNodesTable } from "./rollout-nodes.tsx";
import { TimeAgo } from "./time-ago.tsx";

/* The Nodes page's rollout panel (issue 18): the latest staged rollout, its batches and each Node's
 * state with the reason, polled while it runs; admins can cancel or resume it. */

const ROLLOUT_COLOR: Record<Rollout["state"], string> = {
  running: "blue",
  paused: "orange",
  completed: "green",
  cancelled: "gray",
};

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
      {/* Below sm a table of four columns scrolls sideways: each Node is a card there instead. */}
      <Box visibleFrom="sm">
        <RolloutNodesTable rollout={rollout} active={active} />
      </Box>
      <Box hiddenFrom="sm">
        <RolloutNodeCards rollout={rollout} active={active} />
      </Box>
    </Stack>
  );
}
