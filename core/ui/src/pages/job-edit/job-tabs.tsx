import { Alert, Anchor, Stack, Tabs, Text } from "@mantine/core";
import { IconWebhook } from "@tabler/icons-react";
import type { ReactNode } from "react";
import { Link } from "react-router";
import { useRuns } from "../../api/runs.ts";
import type { Job } from "../../api/types.ts";
import { CodeBlock } from "../../components/code-block.tsx";
import { RunCards, RunsTable } from "../../components/run-list-views.tsx";
import { webhookCurl } from "../../components/webhook-field.tsx";
import { Section } from "./section.tsx";
import { BudgetStatus, RecentRuns, ScheduleStatus } from "./status-panels.tsx";
import { type JobTargets, TargetNodes } from "./target-nodes.tsx";

/* The job page's tabs (issue 22.7): Overview (the status panels), Runs, Settings (the form, passed
 * in) and Webhook. */

export const JOB_TABS = ["overview", "runs", "settings", "webhook"] as const;
export type JobTab = (typeof JOB_TABS)[number];

export function jobTab(value: string | null): JobTab {
  return (JOB_TABS as readonly string[]).includes(value ?? "") ? (value as JobTab) : "overview";
}

/** Every run of this job with the Runs list's columns (newest 100). */
export function JobRunsPanel({ job }: { job: Job }) {
  const runs = useRuns({ jobId: job.id, limit: 100 }, { refetchInterval: 10_000 });
  const list = runs.data ?? [];
  const name = () => job.name;
  return (
    <Stack gap="sm">
      {list.length === 0 ? (
        <Text size="sm" c="dimmed">
          {runs.isPending ? "Loading…" : "This job has not run yet."}
        </Text>
      ) : (
        <>
          <Stack visibleFrom="sm">
            <RunsTable runs={list} jobName={name} />
          </Stack>
          <Stack hiddenFrom="sm">
            <RunCards runs={list} jobName={name} />
          </Stack>
        </>
      )}
      <Anchor component={Link} to={`/runs?jobId=${encodeURIComponent(job.id)}`} size="sm">
        Filter and search these runs
      </Anchor>
    </Stack>
  );
}

/** How to call the job's webhook, and the runs it started. */
export function JobWebhookPanel({ job, canEdit }: { job: Job; canEdit: boolean }) {
  const hook = job.webhook;
  const runs = useRuns({ jobId: job.id, trigger: "webhook", limit: 20 }, { enabled: Boolean(hook) });
  if (!hook)
    return (
      <Alert color="gray" variant="light" icon={<IconWebhook size={18} />} title="No webhook">
        {canEdit
          ? "Turn on “On a webhook” in Settings → Triggers to start this job from GitHub, CI or a script."
          : "This job has no webhook."}
      </Alert>
    );
  const origin = window.location.origin;
  const url = `${origin}/api/webhook/${encodeURIComponent(hook.slug)}`;
  const secret = hook.hasSecret ?? true;
  return (
    <Stack gap="lg">
      <Section title="Webhook URL" description="POST any body to it; the body becomes the run's input.">
        <CodeBlock code={url} label="Webhook URL" />
        <Text size="sm" c="dimmed">
          {secret
            ? "Signed: callers send X-Hub-Signature-256 (GitHub's format) or Standard Webhooks headers; an unsigned call gets 401 and starts nothing."
            : "Public: no secret, so anyone who knows the URL can start it; its write-capable tools wait for approval."}
        </Text>
        <CodeBlock code={webhookCurl(origin, hook.slug, secret ? "<the webhook secret>" : null)} label="Example call" />
      </Section>
      <Section title="Runs started by the webhook">
        {(runs.data ?? []).length === 0 ? (
          <Text size="sm" c="dimmed">
            {runs.isPending ? "Loading…" : "No delivery has started a run yet."}
          </Text>
        ) : (
          <RunsTable runs={runs.data ?? []} jobName={() => job.name} />
        )}
      </Section>
    </Stack>
  );
}

/** The tabs of a saved job. What the job is doing first, its settings one click away. Inactive
 * panels stay mounted, so switching tabs never loses an unsaved edit. */
export function JobTabs({
  job,
  targets,
  tab,
  setTab,
  settings,
  canEdit,
}: {
  job: Job | undefined;
  targets: JobTargets;
  tab: JobTab;
  setTab: (value: string | null) => void;
  settings: ReactNode;
  canEdit: boolean;
}) {
  return (
    <Tabs value={tab} onChange={(value) => setTab(value)} keepMounted>
      <Tabs.List mb="md">
        <Tabs.Tab value="overview">Overview</Tabs.Tab>
        <Tabs.Tab value="runs">Runs</Tabs.Tab>
        <Tabs.Tab value="settings">Settings</Tabs.Tab>
        <Tabs.Tab value="webhook">Webhook</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="overview">
        {job ? (
          <Stack gap="lg">
            <RecentRuns jobId={job.id} />
            <TargetNodes targets={targets} />
            <ScheduleStatus job={job} />
            <BudgetStatus job={job} />
          </Stack>
        ) : null}
      </Tabs.Panel>
      <Tabs.Panel value="runs">{job ? <JobRunsPanel job={job} /> : null}</Tabs.Panel>
      <Tabs.Panel value="settings">{settings}</Tabs.Panel>
      <Tabs.Panel value="webhook">{job ? <JobWebhookPanel job={job} canEdit={canEdit} /> : null}</Tabs.Panel>
    </Tabs>
  );
}
