// biome-ignore-all lint/suspicious/noArrayIndexKey: rules have no identity of their own and hold no local state; the form holds every value
// biome-ignore-all lint/suspicious/noThenProperty: a job's `then` (CONTRACT "Chaining") is an array, never a function
import { Anchor, Button, Group, JsonInput, Stack, Switch, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { Link } from "react-router";
import { useChannels } from "../../api/channels.ts";
import { useJobs } from "../../api/jobs.ts";
import { NOTIFY_EVENTS } from "../../api/types.ts";
import type { SectionProps } from "./form-model.ts";
import { EVENT_LABELS, type ResultsState, schemaError } from "./results-model.ts";
import { RuleRow } from "./rule-row.tsx";
import { Section } from "./section.tsx";

const CHAIN_EVENTS = ["succeeded", "failed"] as const;

/** Who hears of a run, the JSON its answer must be, and the jobs that follow it. */
export function ResultsSection({ form, setForm, jobId }: SectionProps & { jobId: string | undefined }) {
  const channels = useChannels();
  const jobs = useJobs();
  const results = form.results;
  const update = (change: (r: ResultsState) => ResultsState) => setForm((f) => ({ ...f, results: change(f.results) }));
  // The Core keeps references as ids; a rule written by name (API, YAML) still finds its entry.
  const channelList = channels.data ?? [];
  const channelOptions = channelList.map((c) => ({ value: c.id, label: `${c.name} (${c.kind})` }));
  const channelValue = (ref: string) => channelList.find((c) => c.id === ref || c.name === ref)?.id ?? ref;
  for (const rule of results.notify)
    if (rule.channel && !channelOptions.some((o) => o.value === channelValue(rule.channel)))
      channelOptions.push({ value: rule.channel, label: `${rule.channel} (deleted?)` });
  const jobList = (jobs.data ?? []).filter((j) => j.id !== jobId);
  const jobOptions = jobList.map((j) => ({ value: j.id, label: j.name }));
  const jobValue = (ref: string) => jobList.find((j) => j.id === ref || j.name === ref)?.id ?? ref;
  for (const rule of results.then)
    if (rule.job && !jobOptions.some((o) => o.value === jobValue(rule.job)))
      jobOptions.push({ value: rule.job, label: `${rule.job} (deleted?)` });

  return (
    <Section
      title="Results"
      description="Nobody needs to watch: announce runs on a channel, make the answer a JSON document, and start the next job."
    >
      <Stack gap="xs">
        <Text size="sm" fw={500}>
          Notifications
        </Text>
        {channelOptions.length === 0 && (
          <Text size="sm" c="dimmed">
            No channels yet:{" "}
            <Anchor component={Link} to="/channels">
              add one
            </Anchor>{" "}
            (webhook, Slack, Discord, ntfy, email).
          </Text>
        )}
        {results.notify.map((rule, i) => (
          <RuleRow
            key={`notify-${i}`}
            label={i === 0 ? "Channel" : undefined}
            name={`notification ${i + 1}`}
            targetName={`Notification ${i + 1} channel`}
            eventsName={`Notification ${i + 1} events`}
            placeholder="Pick a channel"
            options={channelOptions}
            target={rule.channel ? channelValue(rule.channel) : null}
            onTarget={(v) =>
              update((r) => ({ ...r, notify: r.notify.map((x, j) => (j === i ? { ...x, channel: v } : x)) }))
            }
            events={NOTIFY_EVENTS.map((e) => ({ value: e, label: EVENT_LABELS[e] }))}
            on={rule.on}
            onEvents={(on) => update((r) => ({ ...r, notify: r.notify.map((x, j) => (j === i ? { ...x, on } : x)) }))}
            onRemove={() => update((r) => ({ ...r, notify: r.notify.filter((_, j) => j !== i) }))}
          />
        ))}
        <Group>
          <Button
            variant="light"
            size="xs"
            leftSection={<IconPlus size={14} />}
            onClick={() => update((r) => ({ ...r, notify: [...r.notify, { channel: "", on: ["failed"] }] }))}
          >
            Add notification
          </Button>
        </Group>
      </Stack>

      <Switch
        label="Structured output"
        description="The final answer must be JSON matching this schema; the run's result holds it, and a mismatch fails the run"
        checked={results.outputOn}
        onChange={(e) => {
          const on = e.currentTarget.checked;
          update((r) => ({ ...r, outputOn: on }));
        }}
      />
      {results.outputOn && (
        <JsonInput
          label="JSON Schema"
          aria-label="Output JSON Schema"
          autosize
          minRows={6}
          maxRows={20}
          formatOnBlur
          value={results.outputSchema}
          onChange={(v) => update((r) => ({ ...r, outputSchema: v }))}
          error={schemaError(results)}
          // JsonInput shows this, not `error`, for text that does not parse.
          validationError={schemaError(results) ?? "Not JSON"}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
        />
      )}

      <Stack gap="xs">
        <Text size="sm" fw={500}>
          Then run
        </Text>
        <Text size="xs" c="dimmed">
          The next job starts with trigger "chain" and gets this run as its input ({"{{input.run.output}}"} in its
          prompt).
        </Text>
        {results.then.map((rule, i) => (
          <RuleRow
            key={`then-${i}`}
            name={`next job ${i + 1}`}
            targetName={`Next job ${i + 1}`}
            eventsName={`Next job ${i + 1} when`}
            placeholder="Pick a job"
            options={jobOptions}
            target={rule.job ? jobValue(rule.job) : null}
            onTarget={(v) => update((r) => ({ ...r, then: r.then.map((x, j) => (j === i ? { ...x, job: v } : x)) }))}
            events={CHAIN_EVENTS.map((e) => ({ value: e, label: `when ${e}` }))}
            on={rule.on}
            onEvents={(on) => update((r) => ({ ...r, then: r.then.map((x, j) => (j === i ? { ...x, on } : x)) }))}
            onRemove={() => update((r) => ({ ...r, then: r.then.filter((_, j) => j !== i) }))}
          />
        ))}
        <Group>
          <Button
            variant="light"
            size="xs"
            leftSection={<IconPlus size={14} />}
            onClick={() => update((r) => ({ ...r, then: [...r.then, { job: "", on: ["succeeded"] }] }))}
          >
            Add next job
          </Button>
        </Group>
      </Stack>
    </Section>
  );
}
