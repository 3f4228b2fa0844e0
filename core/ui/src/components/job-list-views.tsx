import { Anchor, Badge, Button, Card, Group, Stack, Table, Text, Tooltip } from "@mantine/core";
import { IconShieldCheck, IconWebhook } from "@tabler/icons-react";
import { Link } from "react-router";
import type { FleetNode, Job, Run } from "../api/types.ts";
import { describeCron } from "../lib/cron.ts";
import { lastRunOf, nextFires } from "../lib/jobs.ts";
import { EnabledSwitch, RunNowButton } from "./job-actions.tsx";
import { RunStatusBadge } from "./status-badge.tsx";
import { TimeAgo } from "./time-ago.tsx";

/* The jobs list two ways (issue 22.7): a table on a wide screen, one card per job on a phone,
 * where the table's status column was off-screen at 390 px. Both say the same things: last run,
 * triggers, next fire and the Nodes the job targets (with their status). */

export interface JobListProps {
  jobs: Job[];
  latest: Map<string, Run>;
  nodes: Map<string, FleetNode>;
  canOperate: boolean;
}

function ApprovalBadge({ job }: { job: Job }) {
  if (!job.approval) return null;
  return (
    <Tooltip
      label={
        job.approval.required
          ? "Every tool call waits for an operator's approval"
          : `Calls of ${(job.approval.tools ?? []).join(", ")} wait for an operator's approval`
      }
      withArrow
      multiline
      maw={320}
    >
      <Badge variant="light" color="yellow" tt="none" leftSection={<IconShieldCheck size={12} />} tabIndex={0}>
        approval
      </Badge>
    </Tooltip>
  );
}

function Triggers({ job }: { job: Job }) {
  return (
    <Group gap={4} wrap="wrap">
      {job.schedule ? (
        <Tooltip label={`${job.schedule.cron} (${job.schedule.timezone ?? "UTC"})`} withArrow>
          <Text size="sm" tabIndex={0}>
            {job.schedule.description ?? describeCron(job.schedule.cron)}
          </Text>
        </Tooltip>
      ) : null}
      {job.webhook ? (
        <Badge variant="light" color="grape" leftSection={<IconWebhook size={12} />} tt="none">
          webhook {job.webhook.slug}
        </Badge>
      ) : null}
      {!job.schedule && !job.webhook ? (
        <Text size="sm" c="dimmed">
          manual only
        </Text>
      ) : null}
    </Group>
  );
}

function NextFire({ job, size }: { job: Job; size?: string }) {
  const next = nextFires(job)[0];
  if (next && job.enabled !== false) return <TimeAgo iso={next} {...(size ? { size } : {})} />;
  return (
    <Text size={size ?? "sm"} c="dimmed" component="span">
      {job.enabled === false ? "paused" : "—"}
    </Text>
  );
}

function LastRun({ job, latest }: { job: Job; latest: Map<string, Run> }) {
  const last = lastRunOf(job, latest);
  if (!last)
    return (
      <Text size="sm" c="dimmed" component="span">
        never run
      </Text>
    );
  return (
    <Group gap={6} wrap="nowrap">
      <Anchor component={Link} to={`/runs/${last.id}`} underline="never" aria-label={`Last run: ${last.status}`}>
        <RunStatusBadge status={last.status} style={{ cursor: "pointer" }} />
      </Anchor>
      <TimeAgo iso={last.at} size="xs" />
    </Group>
  );
}

/** The job's Nodes by name with a dot for their status, and its selector; "any" when neither. */
export function NodeTargets({ job, nodes }: { job: Job; nodes: Map<string, FleetNode> }) {
  if (job.nodes.length === 0 && !job.selector)
    return (
      <Text size="sm" c="dimmed" component="span">
        no Nodes
      </Text>
    );
  return (
    <Group gap={4} wrap="wrap" data-testid="job-node-targets">
      {job.nodes.map((id) => {
        const node = nodes.get(id);
        return (
          <Badge
            key={id}
            variant="dot"
            color={node?.status === "online" ? "green" : "gray"}
            tt="none"
            title={node ? `${node.name}: ${node.status}` : "a Node that no longer exists"}
          >
            {node?.name ?? "removed Node"}
          </Badge>
        );
      })}
      {job.selector ? (
        <Badge variant="outline" color="blue" tt="none" title="Nodes matching this label selector">
          {job.selector}
        </Badge>
      ) : null}
      {job.fanOut ? (
        <Text size="xs" c="dimmed" component="span">
          fan-out
        </Text>
      ) : null}
    </Group>
  );
}

export function JobsTable({ jobs, latest, nodes, canOperate }: JobListProps) {
  return (
    <Table.ScrollContainer minWidth={960}>
      <Table verticalSpacing="sm" highlightOnHover data-testid="jobs-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Triggers</Table.Th>
            <Table.Th>Nodes</Table.Th>
            <Table.Th>Next run</Table.Th>
            <Table.Th>Last run</Table.Th>
            <Table.Th>Enabled</Table.Th>
            <Table.Th>
              <span className="sr-only">Actions</span>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {jobs.map((job) => (
            <Table.Tr key={job.id}>
              <Table.Td>
                <Group gap={6} wrap="nowrap">
                  <Anchor component={Link} to={`/jobs/${job.id}`} fw={600}>
                    {job.name}
                  </Anchor>
                  <ApprovalBadge job={job} />
                </Group>
                <Text size="xs" c="dimmed" lineClamp={1} maw={320}>
                  {job.prompt}
                </Text>
              </Table.Td>
              <Table.Td>
                <Triggers job={job} />
              </Table.Td>
              <Table.Td maw={240}>
                <NodeTargets job={job} nodes={nodes} />
              </Table.Td>
              <Table.Td>
                <NextFire job={job} />
              </Table.Td>
              <Table.Td>
                <LastRun job={job} latest={latest} />
              </Table.Td>
              <Table.Td>
                <EnabledSwitch job={job} readOnly={!canOperate} />
              </Table.Td>
              <Table.Td>
                <Group gap={4} justify="flex-end" wrap="nowrap">
                  {canOperate && <RunNowButton job={job} />}
                  <Button component={Link} to={`/jobs/${job.id}`} size="xs" variant="default">
                    {canOperate ? "Edit" : "View"}
                  </Button>
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function JobCards({ jobs, latest, nodes, canOperate }: JobListProps) {
  return (
    <Stack gap="sm" data-testid="job-cards">
      {jobs.map((job) => (
        <Card key={job.id} withBorder padding="sm" aria-label={`Job ${job.name}`}>
          <Group justify="space-between" wrap="nowrap" gap="xs">
            <Group gap={6} wrap="nowrap" style={{ minWidth: 0 }}>
              <Anchor component={Link} to={`/jobs/${job.id}`} fw={600} truncate>
                {job.name}
              </Anchor>
              <ApprovalBadge job={job} />
            </Group>
            <LastRun job={job} latest={latest} />
          </Group>
          <Text size="xs" c="dimmed" lineClamp={1}>
            {job.prompt}
          </Text>
          <Stack gap={4} mt={6}>
            <Triggers job={job} />
            <Group gap={4}>
              <Text size="xs" c="dimmed">
                Next:
              </Text>
              <NextFire job={job} size="xs" />
            </Group>
            <NodeTargets job={job} nodes={nodes} />
          </Stack>
          <Group justify="space-between" mt={8} wrap="nowrap">
            <EnabledSwitch job={job} readOnly={!canOperate} />
            <Group gap={4} wrap="nowrap">
              {canOperate && <RunNowButton job={job} />}
              <Button component={Link} to={`/jobs/${job.id}`} size="xs" variant="default">
                {canOperate ? "Edit" : "View"}
              </Button>
            </Group>
          </Group>
        </Card>
      ))}
    </Stack>
  );
}
