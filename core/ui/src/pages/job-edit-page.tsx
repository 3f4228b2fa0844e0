import {
  Alert,
  Anchor,
  Button,
  Card,
  Checkbox,
  Group,
  List,
  MultiSelect,
  NumberInput,
  Radio,
  SegmentedControl,
  SimpleGrid,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import {
  IconAlertTriangle,
  IconArrowLeft,
  IconDeviceFloppy,
  IconPlayerPlay,
  IconPlus,
  IconTrash,
} from "@tabler/icons-react";
import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useDeleteJob, useJob, useRunJob, useSaveJob } from "../api/jobs.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { useProviders } from "../api/providers.ts";
import { useRuns } from "../api/runs.ts";
import type {
  ApprovalPolicy,
  FleetNode,
  Job,
  JobBudget,
  JobInput,
  MisfirePolicy,
  ModelRef,
  Provider,
} from "../api/types.ts";
import { ConfirmModal } from "../components/confirm-modal.tsx";
import { CronField } from "../components/cron-field.tsx";
import { ModelPicker, resolveProviderId } from "../components/model-picker.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
import { RunStatusBadge } from "../components/status-badge.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { WebhookField } from "../components/webhook-field.tsx";
import {
  budgetError,
  changedBudget,
  DEFAULT_BUDGET,
  formatBudgetSeconds,
  MAX_BUDGET_SECONDS,
  MAX_BUDGET_TOKENS,
  type TimeUnit,
  timeUnitFor,
  UNIT_SECONDS,
} from "../lib/budget.ts";
import { browserTimeZone } from "../lib/cron.ts";
import { formatDateTime, formatNumber, formatShortDateTime, fromNow, shortId } from "../lib/format.ts";
import { nextFires } from "../lib/jobs.ts";

interface FormState {
  name: string;
  prompt: string;
  nodes: string[];
  tools: string[];
  model: ModelRef;
  fallbacks: ModelRef[];
  scheduled: boolean;
  cron: string;
  timezone: string;
  misfire: MisfirePolicy;
  webhookOn: boolean;
  slug: string;
  secret: string;
  maxSteps: number;
  enabled: boolean;
  approvalMode: ApprovalMode;
  approvalTools: string[];
  approvalTimeoutSeconds: number;
  /** NumberInput values: a number, or the text of an unfinished or empty entry. */
  budgetTokens: number | string;
  budgetTime: number | string;
  budgetUnit: TimeUnit;
}

type ApprovalMode = "none" | "all" | "tools";
const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

function approvalModeOf(policy: ApprovalPolicy | null | undefined): ApprovalMode {
  if (!policy) return "none";
  if (policy.required) return "all";
  return (policy.tools?.length ?? 0) > 0 ? "tools" : "none";
}

function slugify(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|-+$/g, "")
    .slice(0, 100);
}

function emptyForm(): FormState {
  return {
    name: "",
    prompt: "",
    nodes: [],
    tools: [],
    model: { provider: "", model: "" },
    fallbacks: [],
    scheduled: false,
    cron: "0 8 * * *",
    timezone: browserTimeZone(),
    misfire: "run_once",
    webhookOn: false,
    slug: "",
    secret: "",
    maxSteps: 20,
    enabled: true,
    approvalMode: "none",
    approvalTools: [],
    approvalTimeoutSeconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    ...budgetFields(DEFAULT_BUDGET),
  };
}

function budgetFields(budget: Partial<JobBudget> | undefined) {
  const maxTokens = budget?.maxTokens ?? DEFAULT_BUDGET.maxTokens;
  const maxSeconds = budget?.maxSeconds ?? DEFAULT_BUDGET.maxSeconds;
  const budgetUnit = timeUnitFor(maxSeconds);
  return { budgetTokens: maxTokens, budgetTime: maxSeconds / UNIT_SECONDS[budgetUnit], budgetUnit };
}

/** The form's budget errors, checked against the Core's limits before anything is sent. */
function budgetErrors(form: FormState): { tokens: string | null; time: string | null } {
  const perUnit = UNIT_SECONDS[form.budgetUnit];
  return {
    tokens: budgetError(form.budgetTokens, 1, MAX_BUDGET_TOKENS, "tokens"),
    time: budgetError(form.budgetTime, 1, MAX_BUDGET_SECONDS / perUnit, form.budgetUnit),
  };
}

/** Only meaningful once budgetErrors() found nothing. */
function budgetOf(form: FormState): JobBudget {
  return {
    maxTokens: Number(form.budgetTokens),
    maxSeconds: Number(form.budgetTime) * UNIT_SECONDS[form.budgetUnit],
  };
}

/** Jobs may name Nodes and providers by id or name; the form works with ids throughout. */
function formFromJob(job: Job, nodes: FleetNode[], providers: Provider[]): FormState {
  const nodeId = (ref: string) => nodes.find((n) => n.id === ref)?.id ?? nodes.find((n) => n.name === ref)?.id ?? ref;
  const ref = (m: ModelRef) => ({ provider: resolveProviderId(providers, m.provider), model: m.model });
  return {
    name: job.name,
    prompt: job.prompt,
    nodes: job.nodes.map(nodeId),
    tools: job.tools ?? [],
    model: ref(job.model),
    fallbacks: (job.fallbacks ?? []).map(ref),
    scheduled: Boolean(job.schedule),
    cron: job.schedule?.cron ?? "0 8 * * *",
    timezone: job.schedule?.timezone ?? "UTC",
    misfire: job.schedule?.misfire ?? "run_once",
    webhookOn: Boolean(job.webhook),
    slug: job.webhook?.slug ?? "",
    secret: "",
    maxSteps: job.maxSteps ?? 20,
    enabled: job.enabled !== false,
    approvalMode: approvalModeOf(job.approval),
    approvalTools: job.approval?.tools ?? [],
    approvalTimeoutSeconds: job.approval?.timeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    ...budgetFields(job.budget),
  };
}

/** `saved` is the job as the Core has it (an edit): the budget then carries only what changed. */
function toInput(form: FormState, saved?: Job): JobInput {
  const budget = saved ? changedBudget(saved.budget, budgetOf(form)) : budgetOf(form);
  // An existing secret is write-only: sending no secret keeps it, sending one replaces it.
  const webhook = form.webhookOn ? { slug: form.slug.trim(), ...(form.secret ? { secret: form.secret } : {}) } : null;
  return {
    name: form.name.trim(),
    prompt: form.prompt,
    model: form.model,
    fallbacks: form.fallbacks.filter((f) => f.provider && f.model),
    nodes: form.nodes,
    tools: form.tools,
    schedule: form.scheduled ? { cron: form.cron.trim(), timezone: form.timezone, misfire: form.misfire } : null,
    webhook,
    maxSteps: form.maxSteps,
    enabled: form.enabled,
    approval:
      form.approvalMode === "none" || (form.approvalMode === "tools" && form.approvalTools.length === 0)
        ? null
        : {
            ...(form.approvalMode === "all" ? { required: true } : { tools: form.approvalTools }),
            timeoutSeconds: form.approvalTimeoutSeconds,
          },
    ...(budget ? { budget } : {}),
  };
}

function Section({ title, description, children }: { title: string; description?: string; children: ReactNode }) {
  return (
    <Card withBorder padding="lg">
      <Title order={4}>{title}</Title>
      {description && (
        <Text size="sm" c="dimmed" mb="sm">
          {description}
        </Text>
      )}
      <Stack gap="md" mt={description ? 0 : "sm"}>
        {children}
      </Stack>
    </Card>
  );
}

function RecentRuns({ jobId }: { jobId: string }) {
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

/** What the scheduler did and will do: the Core's view of the saved schedule, not the form's. */
function ScheduleStatus({ job }: { job: Job }) {
  const schedule = job.schedule;
  if (!schedule) return null;
  const upcoming = nextFires(job);
  return (
    <Section title="Schedule" description={schedule.description || undefined}>
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Last fire
          </Text>
          <When iso={schedule.lastFireAt} empty="Not fired yet" />
        </div>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Next fire
          </Text>
          <When
            iso={job.enabled === false ? null : (schedule.nextFireAt ?? upcoming[0])}
            empty={job.enabled === false ? "Paused" : "None"}
          />
        </div>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Last missed fire
          </Text>
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
          <Text size="xs" c="dimmed" fw={600} tt="uppercase" mb={4}>
            Next fire times ({schedule.timezone ?? "UTC"})
          </Text>
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

/** The saved limits of each run (the Core's view, not the form's). */
function BudgetStatus({ job }: { job: Job }) {
  const budget = { ...DEFAULT_BUDGET, ...job.budget };
  return (
    <Section title="Budget per run" description="A run that goes over a limit fails; its page says which one.">
      <SimpleGrid cols={{ base: 1, sm: 3 }}>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Tokens
          </Text>
          <Text size="sm">{formatNumber(budget.maxTokens)} (prompt + completion)</Text>
        </div>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Run time
          </Text>
          <Text size="sm">{formatBudgetSeconds(budget.maxSeconds)}</Text>
        </div>
        <div>
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Steps
          </Text>
          <Text size="sm">{formatNumber(job.maxSteps ?? 20)}</Text>
        </div>
      </SimpleGrid>
    </Section>
  );
}

export default function JobEditPage() {
  const { id } = useParams();
  const isNew = !id;
  const navigate = useNavigate();
  const job = useJob(id);
  const nodes = useNodes();
  const providers = useProviders();
  const save = useSaveJob();
  const run = useRunJob();
  const remove = useDeleteJob();
  const { canOperate, known: roleKnown } = usePermissions();
  const [approvalError, setApprovalError] = useState<string | null>(null);
  const [deleteOpened, deleteModal] = useDisclosure(false);
  const [form, setForm] = useState<FormState>(emptyForm);
  const [loadedFor, setLoadedFor] = useState<string | null>(null);

  const nodeList = nodes.data ?? [];
  const providerList = providers.data ?? [];

  // Fill the form once per job, after the Nodes and providers it refers to are known, and never
  // again while the user edits (background refetches must not overwrite their typing).
  useEffect(() => {
    if (isNew || !job.data || loadedFor === job.data.id || nodes.isPending || providers.isPending) return;
    setForm(formFromJob(job.data, nodeList, providerList));
    setLoadedFor(job.data.id);
  }, [isNew, job.data, loadedFor, nodes.isPending, providers.isPending, nodeList, providerList]);

  // A new job starts on the first provider, which is what most single-provider setups want.
  useEffect(() => {
    if (isNew && !form.model.provider && providerList[0]) {
      const first = providerList[0];
      setForm((f) => ({ ...f, model: { provider: first.id, model: "" } }));
    }
  }, [isNew, form.model.provider, providerList]);

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));

  const toolOptions = useMemo(() => {
    const chosen = nodeList.filter((n) => form.nodes.includes(n.id));
    // The Core matches an allowlist entry against a tool's name, `source/name`, or a whole source;
    // MCP tools use `source/name` so a same-named built-in is not allowed by accident.
    const groups = new Map<string, Map<string, string>>();
    for (const node of chosen)
      for (const tool of node.tools ?? []) {
        const builtin = tool.source === "builtin";
        const group = builtin ? "Built-in" : tool.source;
        if (!groups.has(group)) {
          groups.set(group, new Map());
          if (!builtin) groups.get(group)?.set(tool.source, `every tool of ${tool.source}`);
        }
        groups
          .get(group)
          ?.set(
            builtin ? tool.name : `${tool.source}/${tool.name}`,
            builtin ? tool.name : `${tool.source.slice(4)}/${tool.name}`,
          );
      }
    const known = new Set([...groups.values()].flatMap((m) => [...m.keys()]));
    const data = [...groups.entries()].map(([group, items]) => ({
      group,
      items: [...items.entries()].map(([value, label]) => ({ value, label })),
    }));
    // Keep tools the job already allows even if no chosen Node offers them right now (offline).
    const missing = form.tools.filter((t) => !known.has(t));
    if (missing.length)
      data.push({ group: "Not offered by the chosen Nodes now", items: missing.map((t) => ({ value: t, label: t })) });
    return data;
  }, [nodeList, form.nodes, form.tools]);

  // Calls the approval policy may name: a tool's own name or `<source>/<name>` (no whole sources).
  const approvalToolOptions = useMemo(() => {
    const names = new Set<string>();
    for (const node of nodeList.filter((n) => form.nodes.includes(n.id)))
      for (const tool of node.tools ?? [])
        names.add(tool.source === "builtin" ? tool.name : `${tool.source}/${tool.name}`);
    for (const t of form.approvalTools) names.add(t);
    return [...names].sort();
  }, [nodeList, form.nodes, form.approvalTools]);

  const budgetProblems = budgetErrors(form);

  const setBudgetUnit = (unit: TimeUnit) =>
    setForm((f) => {
      if (unit === f.budgetUnit) return f;
      // Keep the same length of time where the new unit can say it; else the nearest whole minute.
      const seconds = typeof f.budgetTime === "number" ? f.budgetTime * UNIT_SECONDS[f.budgetUnit] : null;
      const time = seconds === null ? f.budgetTime : Math.max(1, Math.round(seconds / UNIT_SECONDS[unit]));
      return { ...f, budgetUnit: unit, budgetTime: time };
    });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (budgetProblems.tokens || budgetProblems.time) return;
    if (form.approvalMode === "tools" && form.approvalTools.length === 0) {
      setApprovalError("Pick at least one tool, or choose another policy");
      return;
    }
    setApprovalError(null);
    save.mutate(
      { id, body: toInput(form, isNew ? undefined : job.data) },
      {
        onSuccess: (saved) => {
          notifications.show({ color: "green", message: `Saved ${form.name.trim()}` });
          setForm((f) => ({ ...f, secret: "" }));
          if (isNew && saved?.id) navigate(`/jobs/${saved.id}`, { replace: true });
          else if (id) void job.refetch();
        },
      },
    );
  };

  const runNow = () => {
    if (!id) return;
    run.mutate(
      { id },
      {
        onSuccess: ({ runId }) => navigate(`/runs/${runId}`),
        onError: (error) => notifications.show({ color: "red", title: "Did not start", message: errorMessage(error) }),
      },
    );
  };

  const hasStoredSecret = Boolean(job.data?.webhook && (job.data.webhook.hasSecret ?? true));

  const body = (
    <form onSubmit={submit}>
      {/* A viewer sees the job as it is; a disabled fieldset makes every control read-only at once. */}
      <fieldset disabled={!canOperate} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
        <Stack gap="lg">
          <Section title="Task">
            <TextInput
              label="Name"
              required
              placeholder="disk-report"
              value={form.name}
              onChange={(e) => set("name", e.currentTarget.value)}
            />
            <Textarea
              label="Prompt"
              description="What the agent should do. It sees the tools of the chosen Nodes."
              required
              autosize
              minRows={4}
              maxRows={16}
              placeholder="Check disk space on this server and summarise."
              value={form.prompt}
              onChange={(e) => set("prompt", e.currentTarget.value)}
            />
            <Switch
              label="Enabled"
              description="Paused jobs keep their settings but do not fire on schedule or webhook"
              checked={form.enabled}
              onChange={(e) => set("enabled", e.currentTarget.checked)}
            />
          </Section>

          <Section title="Nodes and tools" description="Where the agent may act, and with which tools.">
            <MultiSelect
              label="Target Nodes"
              required
              placeholder={nodeList.length ? "Pick Nodes" : "Enroll a Node first"}
              data={nodeList.map((n) => ({
                value: n.id,
                label: `${n.name}${n.status === "online" ? "" : " (offline)"}`,
              }))}
              value={form.nodes}
              onChange={(value) => set("nodes", value)}
              searchable
              clearable
              nothingFoundMessage="No such Node"
            />
            <MultiSelect
              label="Allowed tools"
              description="Leave empty to allow every tool of the chosen Nodes"
              placeholder={form.nodes.length ? "All tools" : "Pick Nodes first"}
              data={toolOptions}
              value={form.tools}
              onChange={(value) => set("tools", value)}
              searchable
              clearable
              nothingFoundMessage="No such tool"
            />
          </Section>

          <Section title="Model" description="Fallbacks are tried in order when the model before them fails.">
            {providers.error ? <ErrorAlert error={providers.error} title="Providers could not be loaded" /> : null}
            <ModelPicker value={form.model} onChange={(m) => set("model", m)} providers={providerList} />
            {form.fallbacks.map((fallback, index) => (
              <ModelPicker
                // Rows are positional: added at the end, removed by index.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above
                key={index}
                label={`Fallback ${index + 1}`}
                value={fallback}
                providers={providerList}
                onChange={(m) =>
                  set(
                    "fallbacks",
                    form.fallbacks.map((f, i) => (i === index ? m : f)),
                  )
                }
                onRemove={() =>
                  set(
                    "fallbacks",
                    form.fallbacks.filter((_, i) => i !== index),
                  )
                }
              />
            ))}
            <Group>
              <Button
                variant="light"
                size="xs"
                leftSection={<IconPlus size={14} />}
                onClick={() =>
                  set("fallbacks", [...form.fallbacks, { provider: providerList[0]?.id ?? "", model: "" }])
                }
              >
                Add fallback
              </Button>
            </Group>
            <NumberInput
              label="Max steps"
              description="The run stops after this many model turns and tool calls"
              min={1}
              max={500}
              value={form.maxSteps}
              onChange={(value) => set("maxSteps", typeof value === "number" ? value : Number(value) || 20)}
              w={200}
            />
          </Section>

          <Section
            title="Budget"
            description="Hard limits per run. A run that spends more fails at once: no further model call, tool calls in flight aborted."
          >
            <Group align="flex-start" gap="lg">
              <NumberInput
                label="Max tokens"
                description={`Prompt + completion. Default ${formatNumber(DEFAULT_BUDGET.maxTokens)}`}
                min={1}
                max={MAX_BUDGET_TOKENS}
                allowDecimal={false}
                allowNegative={false}
                clampBehavior="none"
                thousandSeparator=","
                value={form.budgetTokens}
                onChange={(value) => set("budgetTokens", value)}
                error={budgetProblems.tokens}
                w={280}
              />
              <NumberInput
                label="Max run time"
                description={`Approval waits count. Default ${DEFAULT_BUDGET.maxSeconds / 60} minutes`}
                min={1}
                max={MAX_BUDGET_SECONDS / UNIT_SECONDS[form.budgetUnit]}
                allowDecimal={false}
                allowNegative={false}
                clampBehavior="none"
                hideControls
                value={form.budgetTime}
                onChange={(value) => set("budgetTime", value)}
                error={budgetProblems.time}
                inputContainer={(input) => (
                  <Group gap="xs" wrap="nowrap" align="center">
                    <div style={{ width: 140 }}>{input}</div>
                    <SegmentedControl
                      aria-label="Run time unit"
                      size="sm"
                      data={["minutes", "seconds"]}
                      value={form.budgetUnit}
                      onChange={(value) => setBudgetUnit(value as TimeUnit)}
                    />
                  </Group>
                )}
              />
            </Group>
          </Section>

          <Section
            title="Approval"
            description="Hold tool calls until an operator approves them on the run's page. A denied or expired call is not run; the model is told why."
          >
            <Radio.Group
              label="Tool calls that need approval"
              value={form.approvalMode}
              onChange={(value) => {
                setApprovalError(null);
                set("approvalMode", value as ApprovalMode);
              }}
            >
              <Group mt="xs" gap="lg">
                <Radio value="none" label="None" />
                <Radio value="all" label="Every tool call" />
                <Radio value="tools" label="Only these tools" />
              </Group>
            </Radio.Group>
            {form.approvalMode === "tools" && (
              <MultiSelect
                label="Tools that need approval"
                placeholder={form.nodes.length ? "Pick tools" : "Pick Nodes first"}
                data={approvalToolOptions}
                value={form.approvalTools}
                onChange={(value) => {
                  setApprovalError(null);
                  set("approvalTools", value);
                }}
                error={approvalError}
                searchable
                clearable
                nothingFoundMessage="No such tool"
              />
            )}
            {form.approvalMode !== "none" && (
              <NumberInput
                label="Decide within (minutes)"
                description="No decision by then: the call fails and the run goes on without it"
                min={1}
                max={7 * 24 * 60}
                decimalScale={2}
                value={Math.round((form.approvalTimeoutSeconds / 60) * 100) / 100}
                onChange={(value) => {
                  const minutes = typeof value === "number" ? value : Number(value);
                  set("approvalTimeoutSeconds", Math.max(1, Math.round((minutes || 60) * 60)));
                }}
                w={240}
              />
            )}
          </Section>

          <Section
            title="Triggers"
            description="Run now always works; a job may also run on a schedule and on a webhook."
          >
            <Checkbox
              label="On a schedule"
              checked={form.scheduled}
              onChange={(e) => set("scheduled", e.currentTarget.checked)}
            />
            {form.scheduled && (
              <CronField
                cron={form.cron}
                timezone={form.timezone}
                onChange={({ cron, timezone }) => setForm((f) => ({ ...f, cron, timezone }))}
              />
            )}
            {form.scheduled && (
              <Radio.Group
                label="If the Core was down at fire time"
                value={form.misfire}
                onChange={(value) => set("misfire", value as MisfirePolicy)}
              >
                <Group mt="xs" gap="lg">
                  <Radio value="run_once" label="Run once when it is back" />
                  <Radio value="skip" label="Skip (only record the miss)" />
                </Group>
              </Radio.Group>
            )}
            <Checkbox
              label="On a webhook"
              checked={form.webhookOn}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                setForm((f) => ({
                  ...f,
                  webhookOn: on,
                  slug: f.slug || slugify(f.name),
                }));
              }}
            />
            {form.webhookOn && (
              <WebhookField
                slug={form.slug}
                secret={form.secret}
                hasStoredSecret={hasStoredSecret}
                onChange={({ slug, secret }) => setForm((f) => ({ ...f, slug, secret }))}
              />
            )}
          </Section>

          {save.error ? <ErrorAlert error={save.error} title="Not saved" /> : null}
          {canOperate && (
            <Group justify="space-between">
              <Group>
                <Button type="submit" leftSection={<IconDeviceFloppy size={16} />} loading={save.isPending}>
                  {isNew ? "Create job" : "Save changes"}
                </Button>
                <Button component={Link} to="/jobs" variant="default">
                  Cancel
                </Button>
              </Group>
              {!isNew && (
                <Button
                  color="red"
                  variant="subtle"
                  leftSection={<IconTrash size={16} />}
                  onClick={() => {
                    remove.reset();
                    deleteModal.open();
                  }}
                >
                  Delete job
                </Button>
              )}
            </Group>
          )}
        </Stack>
      </fieldset>
    </form>
  );

  return (
    <>
      <Anchor component={Link} to="/jobs" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} aria-hidden /> Jobs
        </Group>
      </Anchor>
      <PageHeader
        title={isNew ? "New job" : (job.data?.name ?? "Job")}
        description={isNew ? undefined : "Changes apply to the next run."}
        actions={
          !isNew &&
          canOperate && (
            <Button leftSection={<IconPlayerPlay size={16} />} onClick={runNow} loading={run.isPending}>
              Run now
            </Button>
          )
        }
      />
      {roleKnown && !canOperate ? (
        <Alert color="gray" variant="light" icon={<IconAlertTriangle size={18} />} mb="md">
          {isNew
            ? "Your role (viewer) cannot create jobs."
            : "Read-only: your role (viewer) cannot change or run jobs."}
        </Alert>
      ) : null}
      {isNew ? (
        roleKnown && !canOperate ? null : (
          body
        )
      ) : (
        <QueryState
          isPending={job.isPending || (loadedFor === null && !job.error)}
          error={job.error}
          onRetry={() => job.refetch()}
        >
          <Stack gap="lg">
            {job.data ? <ScheduleStatus job={job.data} /> : null}
            {job.data ? <BudgetStatus job={job.data} /> : null}
            {body}
            {id && <RecentRuns jobId={id} />}
          </Stack>
        </QueryState>
      )}
      <ConfirmModal
        opened={deleteOpened}
        onClose={deleteModal.close}
        title="Delete job"
        confirmLabel="Delete"
        loading={remove.isPending}
        error={remove.error}
        onConfirm={() =>
          id &&
          remove.mutate(id, {
            onSuccess: () => {
              deleteModal.close();
              navigate("/jobs", { replace: true });
            },
          })
        }
      >
        Delete <b>{job.data?.name}</b>? Its schedule and webhook stop at once. Past runs stay visible.
      </ConfirmModal>
    </>
  );
}
