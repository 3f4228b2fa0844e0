import { Box, Button } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useMemo } from "react";
import { Link } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { useRuns } from "../api/runs.ts";
import { Empty } from "../components/empty-state.tsx";
import { JobCards, JobsTable } from "../components/job-list-views.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { latestRunByJob } from "../lib/jobs.ts";

export default function JobsPage() {
  const jobs = useJobs({ refetchInterval: 15_000 });
  const runs = useRuns({}, { refetchInterval: 15_000 });
  const fleet = useNodes();
  const latest = latestRunByJob(runs.data ?? []);
  const nodes = useMemo(() => new Map((fleet.data ?? []).map((n) => [n.id, n])), [fleet.data]);
  const { canOperate } = usePermissions();
  const list = jobs.data ?? [];

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
        {list.length === 0 ? (
          <Empty title="No jobs yet">Create one: describe the task, pick Nodes and a model, and run it.</Empty>
        ) : (
          <>
            <Box visibleFrom="sm">
              <JobsTable jobs={list} latest={latest} nodes={nodes} canOperate={canOperate} />
            </Box>
            <Box hiddenFrom="sm">
              <JobCards jobs={list} latest={latest} nodes={nodes} canOperate={canOperate} />
            </Box>
          </>
        )}
      </QueryState>
    </>
  );
}
