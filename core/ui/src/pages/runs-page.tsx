import { Box, Button, Group, Select, Switch, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconSearch } from "@tabler/icons-react";
import { useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { useNodes } from "../api/nodes.ts";
import { useRuns } from "../api/runs.ts";
import { RUN_STATUSES, type RunStatus } from "../api/types.ts";
import { ApprovalsBanner } from "../components/approvals-banner.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { RunCards, RunsTable } from "../components/run-list-views.tsx";
import { RUN_STATUS_LABELS } from "../components/status-badge.tsx";

const TRIGGERS = ["manual", "cron", "webhook", "chain"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The day after `date` (YYYY-MM-DD), so "until" includes the whole day picked. */
function dayAfter(date: string): string {
  const d = new Date(`${date}T00:00:00.000Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString();
}

export default function RunsPage() {
  // Filters live in the URL so a filtered view can be linked to (the dashboard does) and reloaded.
  const [params, setParams] = useSearchParams();
  const jobId = params.get("jobId");
  const statusParam = params.get("status");
  const status = RUN_STATUSES.includes(statusParam as RunStatus) ? (statusParam as RunStatus) : null;
  const triggerParam = params.get("trigger");
  const trigger = triggerParam && TRIGGERS.includes(triggerParam) ? triggerParam : null;
  const nodeId = params.get("nodeId");
  const from = DATE.test(params.get("from") ?? "") ? params.get("from") : null;
  const to = DATE.test(params.get("to") ?? "") ? params.get("to") : null;
  const autoRefresh = params.get("refresh") !== "off";
  // The search box asks the Core once typing pauses, not per key.
  const [search, setSearch] = useState(params.get("q") ?? "");
  const [q] = useDebouncedValue(search.trim(), 300);

  const jobs = useJobs();
  const nodes = useNodes();
  const runs = useRuns(
    { jobId, status, trigger, nodeId, since: from, until: to ? dayAfter(to) : null, q: q || null },
    { refetchInterval: autoRefresh ? 5_000 : false },
  );
  const jobName = new Map((jobs.data ?? []).map((j) => [j.id, j.name]));

  const update = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: only the debounced text goes to the URL
  useEffect(() => {
    if ((params.get("q") ?? "") !== q) update("q", q || null);
  }, [q]);

  const filtered = Boolean(jobId || status || trigger || nodeId || from || to || q);
  const list = (runs.data ?? []).slice(0, 200);
  const nameOf = (id: string) => jobName.get(id);

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
          w={{ base: "100%", xs: 200 }}
        />
        <Select
          label="Status"
          placeholder="Any status"
          data={RUN_STATUSES.map((s) => ({ value: s, label: RUN_STATUS_LABELS[s] }))}
          value={status}
          onChange={(value) => update("status", value)}
          clearable
          w={{ base: "100%", xs: 170 }}
        />
        <Select
          label="Trigger"
          placeholder="Any trigger"
          data={TRIGGERS}
          value={trigger}
          onChange={(value) => update("trigger", value)}
          clearable
          w={{ base: "100%", xs: 140 }}
        />
        <Select
          label="Node"
          placeholder="Any Node"
          data={(nodes.data ?? []).map((n) => ({ value: n.id, label: n.name }))}
          value={nodeId}
          onChange={(value) => update("nodeId", value)}
          searchable
          clearable
          w={{ base: "100%", xs: 160 }}
        />
        <TextInput
          label="From"
          type="date"
          value={from ?? ""}
          onChange={(e) => update("from", e.currentTarget.value || null)}
          w={{ base: "48%", xs: 150 }}
        />
        <TextInput
          label="To"
          type="date"
          value={to ?? ""}
          onChange={(e) => update("to", e.currentTarget.value || null)}
          w={{ base: "48%", xs: 150 }}
        />
        <TextInput
          label="Search"
          placeholder="Answer, error or tool result"
          leftSection={<IconSearch size={14} />}
          value={search}
          onChange={(e) => setSearch(e.currentTarget.value)}
          w={{ base: "100%", xs: 220 }}
        />
        <Switch
          label="Auto refresh"
          checked={autoRefresh}
          onChange={(e) => update("refresh", e.currentTarget.checked ? null : "off")}
          mb={8}
        />
        {filtered ? (
          <Button
            variant="subtle"
            mb={2}
            onClick={() => {
              setSearch("");
              setParams(new URLSearchParams(autoRefresh ? {} : { refresh: "off" }), { replace: true });
            }}
          >
            Clear filters
          </Button>
        ) : null}
      </Group>
      <QueryState isPending={runs.isPending} error={runs.error} onRetry={() => runs.refetch()}>
        {list.length === 0 ? (
          <Empty title="No runs match">
            {filtered ? "Try clearing the filters." : "Runs appear here when a job runs."}
          </Empty>
        ) : (
          <>
            <Box visibleFrom="sm">
              <RunsTable runs={list} jobName={nameOf} />
            </Box>
            <Box hiddenFrom="sm">
              <RunCards runs={list} jobName={nameOf} />
            </Box>
          </>
        )}
      </QueryState>
      {(runs.data?.length ?? 0) > list.length && (
        <Text size="sm" c="dimmed" mt="sm">
          Showing the newest {list.length} of {runs.data?.length}. Filter to narrow down.
        </Text>
      )}
    </>
  );
}
