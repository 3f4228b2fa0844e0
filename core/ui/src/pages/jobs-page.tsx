import { ActionIcon, Anchor, Badge, Button, Group, Stack, Switch, Table, Text, Tooltip } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconPlayerPlay, IconPlus, IconShieldCheck, IconWebhook } from "@tabler/icons-react";
import { Link, useNavigate } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useJobs, useRunJob, useSetJobEnabled } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useRuns } from "../api/runs.ts";
import type { Job } from "../api/types.ts";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { RunStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { describeCron } from "../lib/cron.ts";
import { lastRunOf, latestRunByJob, nextFires } from "../lib/jobs.ts";

function EnabledSwitch({ job, readOnly }: { job: Job; readOnly: boolean }) {
  const setEnabled = useSetJobEnabled();
  const enabled = setEnabled.isPending ? Boolean(setEnabled.variables?.enabled) : job.enabled !== false;
  return (
    <Switch
      checked={enabled}
      aria-label={`${job.name} ${enabled ? "enabled" : "paused"}`}
      label={enabled ? "on" : "paused"}
      disabled={readOnly || setEnabled.isPending}
      onChange={(e) =>
        setEnabled.mutate(
          { id: job.id, enabled: e.currentTarget.checked },
          {
            onError: (error) =>
              notifications.show({ color: "red", title: `Could not change ${job.name}`, message: errorMessage(error) }),
          },
        )
      }
    />
  );
}

function RunNowButton({ job }: { job: Job }) {
  const run = useRunJob();
  const navigate = useNavigate();
  return (
    <Tooltip label="Run now" withArrow>
      <ActionIcon
        variant="light"
        aria-label={`Run ${job.name} now`}
        loading={run.isPending}
        onClick={() =>
          run.mutate(
            { id: job.id },
            {
              onSuccess: ({ runId }) => navigate(`/runs/${runId}`),
              onError: (error) =>
                notifications.show({ color: "red", title: `${job.name} did not start`, message: errorMessage(error) }),
            },
          )
        }
      >
        <IconPlayerPlay size={16} />
      </ActionIcon>
    </Tooltip>
  );
}

export default function JobsPage() {
  const jobs = useJobs({ refetchInterval: 15_000 });
  const runs = useRuns({}, { refetchInterval: 15_000 });
  const latest = latestRunByJob(runs.data ?? []);
  const { canOperate } = usePermissions();

  return (
    <>
      <PageHeader
        title="Jobs"
        description="A prompt, the Nodes and tools it may use, a model, and when it runs."
        actions={
          canOperate && (
            <Button component={Link} to="/jobs/new" leftSection={<IconPlus size={16} />}>
              New job
            </Button>
          )
        }
      />
      <QueryState isPending={jobs.isPending} error={jobs.error} onRetry={() => jobs.refetch()}>
        {(jobs.data ?? []).length === 0 ? (
          <Empty title="No jobs yet">Create one: describe the task, pick Nodes and a model, and run it.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={820}>
            <Table verticalSpacing="sm" highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Triggers</Table.Th>
                  <Table.Th>Next run</Table.Th>
                  <Table.Th>Last run</Table.Th>
                  <Table.Th>Enabled</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(jobs.data ?? []).map((job) => {
                  const last = lastRunOf(job, latest);
                  const next = nextFires(job)[0];
                  return (
                    <Table.Tr key={job.id}>
                      <Table.Td>
                        <Group gap={6} wrap="nowrap">
                          <Anchor component={Link} to={`/jobs/${job.id}`} fw={600}>
                            {job.name}
                          </Anchor>
                          {job.approval ? (
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
                              <Badge
                                variant="light"
                                color="yellow"
                                tt="none"
                                leftSection={<IconShieldCheck size={12} />}
                                tabIndex={0}
                              >
                                approval
                              </Badge>
                            </Tooltip>
                          ) : null}
                        </Group>
                        <Text size="xs" c="dimmed" lineClamp={1} maw={320}>
                          {job.prompt}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Stack gap={4}>
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
                        </Stack>
                      </Table.Td>
                      <Table.Td>
                        {next && job.enabled !== false ? (
                          <TimeAgo iso={next} />
                        ) : (
                          <Text size="sm" c="dimmed">
                            —
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>
                        {last ? (
                          <Group gap={6} wrap="nowrap">
                            <Anchor component={Link} to={`/runs/${last.id}`} underline="never">
                              <RunStatusBadge status={last.status} style={{ cursor: "pointer" }} />
                            </Anchor>
                            <TimeAgo iso={last.at} size="xs" />
                          </Group>
                        ) : (
                          <Text size="sm" c="dimmed">
                            never run
                          </Text>
                        )}
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
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
    </>
  );
}
