import { Anchor, Badge, Card, Group, Progress, SimpleGrid, Stack, Table, Text, Title, Tooltip } from "@mantine/core";
import { IconAlertTriangle, IconClock, IconServer2 } from "@tabler/icons-react";
import { Link } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { useNodes } from "../api/nodes.ts";
import { runTime, useRuns } from "../api/runs.ts";
import { RUN_STATUSES } from "../api/types.ts";
import { ApprovalsBanner } from "../components/approvals-banner.tsx";
import { FirstRunChecklist } from "../components/first-run-checklist.tsx";
import { McpApprovalsBanner } from "../components/mcp-approvals-banner.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert } from "../components/query-state.tsx";
import { RunsChart } from "../components/runs-chart.tsx";
import { RUN_STATUS_LABELS, RunStatusBadge, runStatusColor } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { formatShortDateTime, shortId } from "../lib/format.ts";
import { lastRunOf, latestRunByJob, nextFires } from "../lib/jobs.ts";

const DAY_MS = 24 * 3600 * 1000;

export default function DashboardPage() {
  const nodes = useNodes({ refetchInterval: 10_000 });
  const jobs = useJobs({ refetchInterval: 30_000 });
  const runs = useRuns({ limit: 500 }, { refetchInterval: 15_000 });

  const online = nodes.data?.filter((n) => n.status === "online").length ?? 0;
  const total = nodes.data?.length ?? 0;

  const since = Date.now() - DAY_MS;
  const recentRuns = (runs.data ?? []).filter((r) => runTime(r) >= since);
  const byStatus = RUN_STATUSES.map((status) => ({
    status,
    count: recentRuns.filter((r) => r.status === status).length,
  }));

  const jobName = new Map((jobs.data ?? []).map((j) => [j.id, j.name]));
  const upcoming = (jobs.data ?? [])
    .filter((j) => j.enabled !== false && j.schedule)
    .flatMap((j) =>
      nextFires(j)
        .slice(0, 3)
        .map((at) => ({ job: j, at })),
    )
    .filter(({ at }) => Date.parse(at) >= Date.now() - 60_000)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(0, 8);

  const latest = latestRunByJob(runs.data ?? []);
  const failing = (jobs.data ?? [])
    .map((job) => ({ job, last: lastRunOf(job, latest) }))
    .filter(({ last }) => last?.status === "failed");

  return (
    <>
      <PageHeader title="Dashboard" description="Your fleet and its work at a glance." />
      <Stack gap="lg">
        {nodes.error ? <ErrorAlert error={nodes.error} title="Nodes could not be loaded" /> : null}
        {runs.error ? <ErrorAlert error={runs.error} title="Runs could not be loaded" /> : null}
        {jobs.error ? <ErrorAlert error={jobs.error} title="Jobs could not be loaded" /> : null}
        <ApprovalsBanner />
        <McpApprovalsBanner />
        <FirstRunChecklist nodes={nodes.data} jobs={jobs.data} runs={runs.data} />

        <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
          <Card withBorder padding="lg">
            <Group justify="space-between">
              <Text size="sm" c="dimmed" fw={600}>
                Nodes online
              </Text>
              <IconServer2 size={20} aria-hidden />
            </Group>
            <Text fz={32} fw={700} mt="xs">
              {nodes.isPending ? "…" : `${online} / ${total}`}
            </Text>
            <Progress
              mt="sm"
              value={total ? (online / total) * 100 : 0}
              color="green"
              aria-label={`${online} of ${total} nodes online`}
            />
            <Anchor component={Link} to="/nodes" size="sm" mt="sm">
              {total - online} offline — view nodes
            </Anchor>
          </Card>
          <Card withBorder padding="lg">
            <Text size="sm" c="dimmed" fw={600}>
              Runs in the last 24 h
            </Text>
            <Text fz={32} fw={700} mt="xs">
              {runs.isPending ? "…" : recentRuns.length}
            </Text>
            <Progress.Root mt="sm" aria-label="Runs by status">
              {byStatus
                .filter((s) => s.count > 0)
                .map((s) => (
                  <Tooltip key={s.status} label={`${s.count} ${RUN_STATUS_LABELS[s.status]}`}>
                    <Progress.Section value={(s.count / recentRuns.length) * 100} color={runStatusColor(s.status)} />
                  </Tooltip>
                ))}
            </Progress.Root>
            <Group gap={6} mt="sm">
              {byStatus
                .filter((s) => s.count > 0)
                .map((s) => (
                  <Anchor key={s.status} component={Link} to={`/runs?status=${s.status}`} underline="never">
                    <RunStatusBadge status={s.status} style={{ cursor: "pointer" }}>
                      {s.count} {RUN_STATUS_LABELS[s.status]}
                    </RunStatusBadge>
                  </Anchor>
                ))}
              {recentRuns.length === 0 && !runs.isPending && (
                <Text size="sm" c="dimmed">
                  No runs yet today.
                </Text>
              )}
            </Group>
          </Card>
          <Card withBorder padding="lg">
            <Text size="sm" c="dimmed" fw={600}>
              Jobs
            </Text>
            <Text fz={32} fw={700} mt="xs">
              {jobs.isPending ? "…" : (jobs.data?.length ?? 0)}
            </Text>
            <Text size="sm" c="dimmed" mt="sm">
              {(jobs.data ?? []).filter((j) => j.enabled !== false).length} enabled,{" "}
              {(jobs.data ?? []).filter((j) => j.schedule).length} scheduled
            </Text>
            <Anchor component={Link} to="/jobs" size="sm" mt="sm">
              Manage jobs
            </Anchor>
          </Card>
          <Card withBorder padding="lg">
            <Text size="sm" c="dimmed" fw={600}>
              Failing jobs
            </Text>
            <Text fz={32} fw={700} mt="xs" c={failing.length ? "red" : undefined}>
              {jobs.isPending || runs.isPending ? "…" : failing.length}
            </Text>
            <Text size="sm" c="dimmed" mt="sm">
              Jobs whose latest run failed.
            </Text>
          </Card>
        </SimpleGrid>

        <RunsChart />

        <SimpleGrid cols={{ base: 1, lg: 2 }}>
          <Card withBorder padding="lg">
            <Group gap="xs" mb="sm">
              <IconClock size={18} aria-hidden />
              <Title order={4}>Next scheduled runs</Title>
            </Group>
            {upcoming.length === 0 ? (
              <Text size="sm" c="dimmed">
                {jobs.isPending ? "Loading…" : "No enabled job has an upcoming scheduled run."}
              </Text>
            ) : (
              <Table.ScrollContainer minWidth={320}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Job</Table.Th>
                      <Table.Th>When</Table.Th>
                      <Table.Th>In</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {upcoming.map(({ job, at }) => (
                      <Table.Tr key={`${job.id}-${at}`}>
                        <Table.Td>
                          <Anchor component={Link} to={`/jobs/${job.id}`}>
                            {job.name}
                          </Anchor>
                        </Table.Td>
                        <Table.Td className="fc-nowrap">{formatShortDateTime(at)}</Table.Td>
                        <Table.Td>
                          <TimeAgo iso={at} />
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Card>
          <Card withBorder padding="lg">
            <Group gap="xs" mb="sm">
              <IconAlertTriangle size={18} aria-hidden />
              <Title order={4}>Failing jobs</Title>
            </Group>
            {failing.length === 0 ? (
              <Text size="sm" c="dimmed">
                {jobs.isPending || runs.isPending ? "Loading…" : "Every job's latest run went fine."}
              </Text>
            ) : (
              <Table.ScrollContainer minWidth={320}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Job</Table.Th>
                      <Table.Th>Last run</Table.Th>
                      <Table.Th>When</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {failing.map(({ job, last }) => (
                      <Table.Tr key={job.id}>
                        <Table.Td>
                          <Anchor component={Link} to={`/jobs/${job.id}`}>
                            {job.name}
                          </Anchor>
                        </Table.Td>
                        <Table.Td>
                          {last && (
                            <Anchor component={Link} to={`/runs/${last.id}`} underline="never">
                              <RunStatusBadge status={last.status} style={{ cursor: "pointer" }} />
                            </Anchor>
                          )}
                        </Table.Td>
                        <Table.Td>
                          <TimeAgo iso={last?.at} />
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Card>
        </SimpleGrid>

        <Card withBorder padding="lg">
          <Group justify="space-between" mb="sm">
            <Title order={4}>Recent runs</Title>
            <Anchor component={Link} to="/runs" size="sm">
              All runs
            </Anchor>
          </Group>
          {(runs.data ?? []).length === 0 ? (
            <Text size="sm" c="dimmed">
              {runs.isPending ? "Loading…" : "No runs yet. Create a job and press Run now."}
            </Text>
          ) : (
            <Table.ScrollContainer minWidth={480}>
              <Table highlightOnHover>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Run</Table.Th>
                    <Table.Th>Job</Table.Th>
                    <Table.Th>Trigger</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Started</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {(runs.data ?? []).slice(0, 8).map((run) => (
                    <Table.Tr key={run.id}>
                      <Table.Td>
                        <Anchor component={Link} to={`/runs/${run.id}`} ff="monospace" size="sm">
                          {shortId(run.id)}
                        </Anchor>
                      </Table.Td>
                      <Table.Td>{jobName.get(run.jobId) ?? run.jobId}</Table.Td>
                      <Table.Td>
                        <Badge variant="outline" color="gray">
                          {run.trigger}
                        </Badge>
                      </Table.Td>
                      <Table.Td>
                        <RunStatusBadge status={run.status} />
                      </Table.Td>
                      <Table.Td>
                        <TimeAgo iso={run.startedAt ?? run.createdAt} />
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Card>
      </Stack>
    </>
  );
}
