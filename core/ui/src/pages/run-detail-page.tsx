import {
  Alert,
  Anchor,
  Badge,
  Card,
  Group,
  Loader,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  Timeline,
  Title,
  Tooltip,
} from "@mantine/core";
import { IconAlertTriangle, IconArrowLeft, IconBrain, IconTool } from "@tabler/icons-react";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router";
import { useJob } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { mergeSteps, progressText, type StreamState, useRunStream, waitingText } from "../api/run-events.ts";
import { useRun } from "../api/runs.ts";
import { ACTIVE_RUN_STATUSES, type RunStep } from "../api/types.ts";
import { ApprovalCard } from "../components/approval-card.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { RerunActions } from "../components/rerun-actions.tsx";
import { CancelledAlert, CancelRunButton } from "../components/run-cancel.tsx";
import { ParentRunLink, RunChildren } from "../components/run-children.tsx";
import { RunDeliveries, RunResultCard } from "../components/run-results.tsx";
import { LlmStepView, ToolStepView } from "../components/run-step-view.tsx";
import { WaitingForNodesAlert } from "../components/run-waiting.tsx";
import { RunStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { LiveOutput } from "../components/tool-result-view.tsx";
import { budgetStop } from "../lib/budget.ts";
import { formatDuration, formatNumber, runDuration, toDisplayText } from "../lib/format.ts";
import { useNow } from "../lib/use-now.ts";

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div" mt={2}>
        {children}
      </Text>
    </div>
  );
}

function StreamBadge({ state, active }: { state: StreamState; active: boolean }) {
  if (!active) return null;
  if (state === "open")
    return (
      <Badge color="green" variant="dot">
        live
      </Badge>
    );
  if (state === "connecting")
    return (
      <Badge color="gray" variant="dot">
        connecting
      </Badge>
    );
  return (
    <Tooltip label="The live stream is unavailable; refreshing every 2 seconds instead" withArrow>
      <Badge color="yellow" variant="dot" tabIndex={0}>
        polling
      </Badge>
    </Tooltip>
  );
}

function totalUsage(steps: RunStep[]) {
  let prompt = 0;
  let completion = 0;
  for (const step of steps)
    if (step.type === "llm") {
      prompt += step.usage?.promptTokens ?? 0;
      completion += step.usage?.completionTokens ?? 0;
    }
  return { prompt, completion };
}

const BUDGET_TITLES = { tokens: "Stopped: token budget exceeded", time: "Stopped: time budget exceeded" };

/** The run's failure reason in full; a spent budget says so in the title and points at the job. */
function FailureAlert({ error, jobId, canEdit }: { error: string; jobId: string; canEdit: boolean }) {
  const budget = budgetStop(error);
  return (
    <Alert
      color="red"
      variant="filled"
      icon={<IconAlertTriangle size={20} />}
      title={budget ? BUDGET_TITLES[budget] : "The run failed"}
      aria-label="Failure reason"
    >
      <Stack gap={6}>
        <Text size="sm" className="fc-pre">
          {error}
        </Text>
        {budget && (
          <Text size="sm">
            The budget is a hard limit set on the job.{" "}
            <Anchor component={Link} to={`/jobs/${jobId}`} c="inherit" underline="always" fw={600}>
              {canEdit ? "Change the job's budget" : "See the job's budget"}
            </Anchor>
          </Text>
        )}
      </Stack>
    </Alert>
  );
}

export default function RunDetailPage() {
  const { id = "" } = useParams();
  const nodes = useNodes();
  const { canOperate } = usePermissions();
  // Stream only while the run can still change; the stored run is complete once it has finished.
  const firstLoad = useRun(id);
  const storedActive = firstLoad.data ? ACTIVE_RUN_STATUSES.includes(firstLoad.data.status) : false;
  const stream = useRunStream(id, storedActive);
  const polling = storedActive && stream.state !== "open";
  // A fan-out parent's stream says only that a child moved (`children`, which re-reads the run);
  // a slow poll stays as a safety net for the children's own progress (their steps).
  const fanOutActive = storedActive && firstLoad.data?.children !== undefined;
  const run = useRun(id, { refetchInterval: polling ? 2_000 : fanOutActive ? 5_000 : false });
  const job = useJob(run.data?.jobId);

  const data = run.data;
  const status =
    data && (ACTIVE_RUN_STATUSES.includes(data.status) && stream.status ? stream.status.status : data.status);
  const active = status ? ACTIVE_RUN_STATUSES.includes(status) : false;
  const steps = mergeSteps(data?.steps ?? [], stream.steps);
  const output = data?.output ?? stream.status?.output ?? null;
  const error = data?.error ?? stream.status?.error ?? null;
  // The run's own usage is written when it finishes; while it runs, the steps' sum is fresher.
  const fromSteps = totalUsage(steps);
  const usage = {
    prompt: Math.max(data?.usage?.promptTokens ?? 0, fromSteps.prompt),
    completion: Math.max(data?.usage?.completionTokens ?? 0, fromSteps.completion),
  };
  // The pending call: from the live status event when it is newer, else from the stored run.
  const pendingApproval =
    status === "waiting_approval" ? (stream.status?.pendingApproval ?? data?.pendingApproval ?? null) : null;
  const nodeName = (ref: string) => nodes.data?.find((n) => n.id === ref || n.name === ref)?.name ?? ref;
  // Durations tick while the run is active (issue 22.2): the page re-renders every second.
  const now = useNow(1_000, active);
  // A call the stored steps already answer is not in flight any more (a replay may race its step).
  const answered = new Set(steps.flatMap((s) => (s.type === "tool" && s.callId ? [s.callId] : [])));
  const inFlight = stream.pendingTools.filter((call) => !answered.has(call.callId));
  // The answer is shown once, on top; the model turn that wrote it says so (issue 22.3).
  const finalIndex = output
    ? steps.findLastIndex((s) => s.type === "llm" && (s.text ?? "").trim() === output.trim())
    : -1;
  const models = [...new Set(steps.flatMap((s) => (s.type === "llm" ? [`${s.provider} / ${s.model}`] : [])))];
  const stepNodes = steps.flatMap((s) => (s.type === "tool" && s.node ? [nodeName(s.node)] : []));
  const callNodes = inFlight.flatMap((c) => (c.node ? [nodeName(c.node)] : []));
  const runNodes = [...new Set([...(data?.nodeName ? [data.nodeName] : []), ...stepNodes, ...callNodes])];

  return (
    <>
      <Anchor component={Link} to={data ? `/runs?jobId=${encodeURIComponent(data.jobId)}` : "/runs"} size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} aria-hidden /> Runs
        </Group>
      </Anchor>
      <QueryState isPending={run.isPending} error={run.error} onRetry={() => run.refetch()}>
        {data && status && (
          <Stack gap="lg" mt="sm">
            <PageHeader
              title={
                <Group gap="sm">
                  {job.data?.name ?? "Run"}
                  <RunStatusBadge status={status} size="lg" />
                  <StreamBadge state={stream.state} active={active} />
                </Group>
              }
              description={
                <Text span ff="monospace" size="xs">
                  {data.id}
                </Text>
              }
              actions={
                canOperate && !active && !data.parentRunId ? (
                  <RerunActions run={data} />
                ) : (
                  active && canOperate && <CancelRunButton run={data} />
                )
              }
            />
            <ParentRunLink run={data} />
            {/* Why it failed comes first: it is what the reader opened the page for. */}
            {status === "failed" && error && <FailureAlert error={error} jobId={data.jobId} canEdit={canOperate} />}
            <WaitingForNodesAlert run={{ ...data, status }} />

            <Card withBorder>
              <SimpleGrid cols={{ base: 2, md: 4 }}>
                <Field label="Job">
                  <Anchor component={Link} to={`/jobs/${data.jobId}`}>
                    {job.data?.name ?? data.jobId}
                  </Anchor>
                </Field>
                <Field label="Trigger">{data.trigger}</Field>
                <Field label="Started">
                  <TimeAgo iso={data.startedAt ?? data.createdAt} />
                </Field>
                <Field label="Duration">
                  <span data-testid="run-duration" data-now={now}>
                    {formatDuration(runDuration(data.startedAt, data.finishedAt))}
                  </span>
                </Field>
                <Field label="Tokens">
                  {formatNumber(usage.prompt)} in · {formatNumber(usage.completion)} out
                </Field>
                <Field label={models.length > 1 ? "Models" : "Model"}>
                  <span data-testid="run-models">
                    {models.length ? models.join(", ") : (job.data && `${job.data.model.model} (not asked yet)`) || "—"}
                  </span>
                </Field>
                <Field label={runNodes.length > 1 ? "Nodes" : "Node"}>
                  <span data-testid="run-nodes">{runNodes.length ? runNodes.join(", ") : "—"}</span>
                </Field>
                {data.errorCode ? (
                  <Field label="Reason">
                    <Badge color="red" variant="light" tt="none" data-testid="run-error-code">
                      {data.errorCode.replace(/_/g, " ")}
                    </Badge>
                  </Field>
                ) : null}
              </SimpleGrid>
            </Card>

            {pendingApproval && (
              <ApprovalCard
                // A new pending call is a new decision: reset the buttons' state.
                key={pendingApproval.id}
                runId={data.id}
                pending={pendingApproval}
                nodeName={nodeName(pendingApproval.nodeId ?? pendingApproval.node)}
                canDecide={canOperate}
              />
            )}

            {data.input !== undefined && data.input !== null && (
              <Card withBorder>
                <Text size="xs" c="dimmed" fw={600} tt="uppercase" mb={4}>
                  Input
                </Text>
                <Text size="sm" ff="monospace" className="fc-pre">
                  {toDisplayText(data.input)}
                </Text>
              </Card>
            )}

            {status === "cancelled" && <CancelledAlert run={data} />}

            {output && (
              <Card withBorder>
                <Title order={4} mb="xs">
                  {data.children ? "Fleet answer" : "Answer"}
                </Title>
                <Text size="sm" className="fc-pre">
                  {output}
                </Text>
              </Card>
            )}

            {data.result !== undefined && data.result !== null ? <RunResultCard result={data.result} /> : null}
            {data.deliveries ? <RunDeliveries deliveries={data.deliveries} /> : null}

            {data.children && <RunChildren run={data} />}

            <section aria-labelledby="transcript-title">
              <Title order={3} id="transcript-title" mb="md">
                Transcript
              </Title>
              {steps.length === 0 && !stream.delta && !stream.pendingModel && inFlight.length === 0 ? (
                <Group gap="xs">
                  {active && <Loader size="xs" />}
                  <Text size="sm" c="dimmed">
                    {active
                      ? status === "queued"
                        ? data.waiting
                          ? "Waiting for its Nodes to connect…"
                          : "Waiting for a free slot…"
                        : "Waiting for the first step…"
                      : "No steps were recorded."}
                  </Text>
                </Group>
              ) : (
                <Timeline bulletSize={26} lineWidth={2} active={steps.length - 1}>
                  {steps.map((step, index) => (
                    <Timeline.Item
                      // Steps only ever get appended, so their position is a stable identity.
                      // biome-ignore lint/suspicious/noArrayIndexKey: see above
                      key={index}
                      bullet={step.type === "llm" ? <IconBrain size={14} /> : <IconTool size={14} />}
                      color={
                        (step.type === "tool" && step.isError) || (step.type === "llm" && step.error)
                          ? "red"
                          : undefined
                      }
                    >
                      {step.type === "llm" ? (
                        <LlmStepView step={step} isFinalAnswer={index === finalIndex} />
                      ) : (
                        <ToolStepView step={step} nodeName={nodeName(step.node)} />
                      )}
                    </Timeline.Item>
                  ))}
                  {/* Timeline clones every child, so no "" or false may reach it: hence the ternaries. */}
                  {active
                    ? inFlight.map((call) => (
                        <Timeline.Item
                          key={call.callId}
                          bullet={<Loader size={12} />}
                          data-testid="tool-in-flight"
                          title={`Running ${call.tool} on ${nodeName(call.node)}…${
                            call.startedAt ? ` ${formatDuration(Math.max(0, now - Date.parse(call.startedAt)))}` : ""
                          }${call.progress ? ` ${progressText(call.progress)}` : ""}`}
                        >
                          <Text size="xs" ff="monospace" c="dimmed" lineClamp={2}>
                            {toDisplayText(call.arguments ?? {}).replace(/\s+/g, " ")}
                          </Text>
                          {call.stdout || call.stderr ? <LiveOutput stdout={call.stdout} stderr={call.stderr} /> : null}
                        </Timeline.Item>
                      ))
                    : null}
                  {active && (stream.pendingModel || stream.delta.length > 0) ? (
                    <Timeline.Item
                      bullet={<Loader size={12} />}
                      title={
                        stream.delta.length > 0
                          ? "The model is writing…"
                          : stream.pendingModel
                            ? waitingText(stream.pendingModel)
                            : "Waiting for the model…"
                      }
                    >
                      {stream.delta.length > 0 ? (
                        <Paper withBorder p="sm" radius="sm">
                          <Text size="sm" className="fc-pre" aria-live="polite">
                            {stream.delta}
                          </Text>
                        </Paper>
                      ) : null}
                    </Timeline.Item>
                  ) : null}
                </Timeline>
              )}
            </section>
          </Stack>
        )}
      </QueryState>
    </>
  );
}
