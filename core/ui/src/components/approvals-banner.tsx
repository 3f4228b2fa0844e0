import { Alert, Anchor, Group, List, Text } from "@mantine/core";
import { IconShieldQuestion } from "@tabler/icons-react";
import { Link } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { useRuns } from "../api/runs.ts";
import { TimeAgo } from "./time-ago.tsx";

/** Runs held for a person's decision, each linking to the page where it is made. Renders nothing
 * when no run waits. */
export function ApprovalsBanner({ max = 5, mb }: { max?: number; mb?: string }) {
  const waiting = useRuns({ status: "waiting_approval", limit: 50 }, { refetchInterval: 5_000 });
  const jobs = useJobs();
  const runs = waiting.data ?? [];
  if (runs.length === 0) return null;
  const jobName = new Map((jobs.data ?? []).map((j) => [j.id, j.name]));
  return (
    <Alert
      color="yellow"
      variant="light"
      icon={<IconShieldQuestion size={20} />}
      title={runs.length === 1 ? "1 run is waiting for approval" : `${runs.length} runs are waiting for approval`}
      role="status"
      mb={mb}
    >
      <List size="sm" spacing={4}>
        {runs.slice(0, max).map((run) => (
          <List.Item key={run.id}>
            <Group gap={6} wrap="wrap">
              <Anchor component={Link} to={`/runs/${run.id}`} fw={600}>
                {jobName.get(run.jobId) ?? run.jobId}
              </Anchor>
              <Text span size="sm" c="dimmed">
                {run.pendingApproval ? `wants ${run.pendingApproval.tool} on ${run.pendingApproval.node}` : "waiting"}
              </Text>
              <TimeAgo iso={run.pendingApproval?.requestedAt ?? run.startedAt ?? run.createdAt} />
            </Group>
          </List.Item>
        ))}
      </List>
      {runs.length > max && (
        <Anchor component={Link} to="/runs?status=waiting_approval" size="sm" mt="xs" display="inline-block">
          All {runs.length} waiting runs
        </Anchor>
      )}
    </Alert>
  );
}
