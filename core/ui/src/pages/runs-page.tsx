import { Anchor, Badge, Group, Select, Switch, Table, Text } from "@mantine/core";
import { Link, useSearchParams } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { useRuns } from "../api/runs.ts";
import { RUN_STATUSES, type RunStatus } from "../api/types.ts";
import { ApprovalsBanner } from "../components/approvals-banner.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { RUN_STATUS_LABELS, RunStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { formatDuration, runDuration, shortId } from "../lib/format.ts";

export default function RunsPage() {
  // Filters live in the URL so a filtered view can be linked to (the dashboard does) and reloaded.
  const [params, setParams] = useSearchParams();
  const jobId = params.get("jobId");
  const statusParam = params.get("status");
  const status = RUN_STATUSES.includes(statusParam as RunStatus) ? (statusParam as RunStatus) : null;
  const autoRefresh = params.get("refresh") !== "off";

  const jobs = useJobs();
  const runs = useRuns({ jobId, status }, { refetchInterval: autoRefresh ? 5_000 : false });
  const jobName = new Map((jobs.data ?? []).map((j) => [j.id, j.name]));

  const update = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };

  const list = (runs.data ?? []).slice(0, 200);

  return (
    <>
      <PageHeader title="Runs" description="Every execution of a job, newest first." />
      {status !== "waiting_approval" && <ApprovalsBanner max={3} mb="md" />}
      <Group mb="md" align="flex-end" gap="sm" wrap="wrap">
        <Select
          label="Job"
          placeholder="All jobs"
          data={(jobs.data ?? []).map((j) => ({ value: j.id, label: j.name }))}
          value={jobId}
          onChange={(value) => update("jobId", value)}
          searchable
          clearable
          w={{ base: "100%", xs: 240 }}
        />
        <Select
          label="Status"
          placeholder="Any status"
          data={RUN_STATUSES.map((s) => ({ value: s, label: RUN_STATUS_LABELS[s] }))}
          value={status}
          onChange={(value) => update("status", value)}
          clearable
          w={{ base: "100%", xs: 200 }}
        />
        <Switch
          label="Auto refresh"
          checked={autoRefresh}
          onChange={(e) => update("refresh", e.currentTarget.checked ? null : "off")}
          mb={8}
        />
      </Group>
      <QueryState isPending={runs.isPending} error={runs.error} onRetry={() => runs.refetch()}>
        {list.length === 0 ? (
          <Empty title="No runs match">
            {jobId || status ? "Try clearing the filters." : "Runs appear here when a job runs."}
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table highlightOnHover verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Job</Table.Th>
                  <Table.Th>Trigger</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Duration</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((run) => (
                  <Table.Tr key={run.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/runs/${run.id}`} ff="monospace" size="sm">
                        {shortId(run.id)}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Anchor component={Link} to={`/jobs/${run.jobId}`} size="sm" c="inherit">
                        {run.jobName ?? jobName.get(run.jobId) ?? run.jobId}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="outline" color="gray">
                        {run.trigger}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <RunStatusBadge status={run.status} />
                      {run.error && run.status === "failed" && (
                        <Text size="xs" c="red" lineClamp={1} maw={260} title={run.error}>
                          {run.error}
                        </Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <TimeAgo iso={run.startedAt ?? run.createdAt} />
                    </Table.Td>
                    <Table.Td>
                      <Text size="sm">{formatDuration(runDuration(run.startedAt, run.finishedAt))}</Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      {(runs.data?.length ?? 0) > list.length && (
        <Text size="sm" c="dimmed" mt="sm">
          Showing the newest {list.length} of {runs.data?.length}. Filter by job or status to narrow down.
        </Text>
      )}
    </>
  );
}
