import { Anchor, List, SimpleGrid, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import { useRuns } from "../../api/runs.ts";
import type { Job } from "../../api/types.ts";
import { ErrorAlert } from "../../components/query-state.tsx";
import { RunStatusBadge } from "../../components/status-badge.tsx";
import { TimeAgo } from "../../components/time-ago.tsx";
import { DEFAULT_BUDGET, formatBudgetSeconds } from "../../lib/budget.ts";
import { formatDateTime, formatNumber, formatShortDateTime, fromNow, shortId } from "../../lib/format.ts";
import { nextFires } from "../../lib/jobs.ts";
import { Section } from "./section.tsx";

/* The saved job as the Core has it (not the form's edits): schedule, budget, recent runs. */

function When({ iso, empty }: { iso: string | null | undefined; empty: string }) {
  if (!iso)
    return (
      <Text size="sm" c="dimmed">
        {empty}
      </Text>
    );
  return (
    <Text size="sm">
      <time dateTime={iso} title={formatDateTime(iso)}>
        {formatShortDateTime(iso)}
      </time>{" "}
      <Text span size="xs" c="dimmed">
        ({fromNow(iso)})
      </Text>
    </Text>
  );
}

function Label({ children, mb }: { children: string; mb?: number }) {
  return (
    <Text size="xs" c="dimmed" fw={600} tt="uppercase" mb={mb}>
      {children}
    </Text>
  );
}

/** What the scheduler did and will do: the Core's view of the saved schedule, not the form's. */
export function ScheduleStatus({ job }: { job: Job }) {
  const schedule = job.schedule;
  if (!schedule) return null;
  const upcoming = nextFires(job);
  return (
    <Section title="Schedule" description={schedule.description || undefined}>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <div>
          <Label>Last fire</Label>
          <When iso={schedule.lastFireAt} empty="Not fired yet" />
        </div>
        <div>
          <Label>Next fire</Label>
          <When
            iso={job.enabled === false ? null : (schedule.nextFireAt ?? upcoming[0])}
            empty={job.enabled === false ? "Paused" : "None"}
          />
        </div>
        <div>
          <Label>Last missed fire</Label>
          <When iso={schedule.lastMisfireAt} empty="None" />
          {schedule.lastMisfireAt && schedule.lastMisfireReason ? (
            <Text size="xs" c="dimmed">
              {schedule.lastMisfireReason}
            </Text>
          ) : null}
        </div>
      </SimpleGrid>
      {job.enabled !== false && upcoming.length > 1 && (
        <div>
          <Label mb={4}>{`Next fire times (${schedule.timezone ?? "UTC"})`}</Label>
          <List size="sm" spacing={2} aria-label="Next fire times">
            {upcoming.map((at) => (
              <List.Item key={at}>
                <When iso={at} empty="" />
              </List.Item>
            ))}
          </List>
        </div>
      )}
      <Text size="xs" c="dimmed">
        Missed fires (Core down at fire time):{" "}
        {schedule.misfire === "skip" ? "skipped, only recorded" : "one catch-up run when the Core is back"}.
      </Text>
    </Section>
  );
}

/** The saved limits of each run. */
export function BudgetStatus({ job }: { job: Job }) {
  const budget = { ...DEFAULT_BUDGET, ...job.budget };
  return (
    <Section title="Budget per run" description="A run that goes over a limit fails; its page says which one.">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <div>
          <Label>Tokens</Label>
          <Text size="sm">{formatNumber(budget.maxTokens)} (prompt + completion)</Text>
        </div>
        <div>
          <Label>Run time</Label>
          <Text size="sm">{formatBudgetSeconds(budget.maxSeconds)}</Text>
        </div>
        <div>
          <Label>Steps</Label>
          <Text size="sm">{formatNumber(job.maxSteps ?? 20)}</Text>
        </div>
      </SimpleGrid>
    </Section>
  );
}

export function RecentRuns({ jobId }: { jobId: string }) {
  const runs = useRuns({ jobId }, { refetchInterval: 10_000 });
  const list = (runs.data ?? []).slice(0, 10);
  return (
    <Section title="Recent runs">
      {runs.error ? <ErrorAlert error={runs.error} /> : null}
      {list.length === 0 ? (
        <Text size="sm" c="dimmed">
          {runs.isPending ? "Loading…" : "This job has not run yet."}
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={360}>
          <Table>
            <Table.Tbody>
              {list.map((run) => (
                <Table.Tr key={run.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/runs/${run.id}`} ff="monospace" size="sm">
                      {shortId(run.id)}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <RunStatusBadge status={run.status} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{run.trigger}</Text>
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
      <Anchor component={Link} to={`/runs?jobId=${encodeURIComponent(jobId)}`} size="sm">
        All runs of this job
      </Anchor>
    </Section>
  );
}
