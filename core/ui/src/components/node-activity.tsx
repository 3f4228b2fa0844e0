import { Anchor, Box, Text, Title } from "@mantine/core";
import { Link } from "react-router";
import { useJobs } from "../api/jobs.ts";
import { useRuns } from "../api/runs.ts";
import { RunCards, RunsTable } from "./run-list-views.tsx";

/** Issue 22.5: what ran on this server — every run with a tool call here (or a fan-out child of
 * it), newest first, each linked to its transcript. */
export function NodeActivity({ nodeId }: { nodeId: string }) {
  const runs = useRuns({ nodeId, limit: 25 }, { refetchInterval: 15_000 });
  const jobs = useJobs();
  const names = new Map((jobs.data ?? []).map((j) => [j.id, j.name]));
  const list = runs.data ?? [];
  return (
    <section aria-labelledby="activity-title" data-testid="node-activity">
      <Title order={3} id="activity-title" mb="sm">
        Activity
      </Title>
      {list.length === 0 ? (
        <Text size="sm" c="dimmed">
          {runs.isPending ? "Loading…" : "No run has used this Node yet."}
        </Text>
      ) : (
        <>
          <Box visibleFrom="sm">
            <RunsTable runs={list} jobName={(id) => names.get(id)} />
          </Box>
          <Box hiddenFrom="sm">
            <RunCards runs={list} jobName={(id) => names.get(id)} />
          </Box>
          <Anchor component={Link} to={`/runs?nodeId=${encodeURIComponent(nodeId)}`} size="sm">
            All runs on this Node
          </Anchor>
        </>
      )}
    </section>
  );
}
