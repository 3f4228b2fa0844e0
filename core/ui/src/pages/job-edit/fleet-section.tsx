import { Badge, Checkbox, Group, Loader, NumberInput, Switch, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { errorMessage } from "../../api/client.ts";
import { useNodesMatching } from "../../api/nodes.ts";
import { concurrencyError, MAX_FAN_OUT_CONCURRENCY, type SectionProps } from "./form-model.ts";
import { Section } from "./section.tsx";

/** How long typing pauses before the selector is asked about: one request per pause, not per key. */
const SELECTOR_DEBOUNCE_MS = 300;

/** Which Nodes the selector matches now, under the field; the Core's parse error at the field. */
function SelectorField({ form, set }: SectionProps) {
  const [selector] = useDebouncedValue(form.selector.trim(), SELECTOR_DEBOUNCE_MS);
  const matching = useNodesMatching(selector);
  const settled = selector === form.selector.trim();
  const error = selector && matching.error ? errorMessage(matching.error) : null;
  const nodes = !error && selector ? (matching.data ?? []) : [];
  return (
    <div>
      <TextInput
        label="Label selector"
        description="Kubernetes syntax: env=prod, role in (web,db), !canary. Resolved at every run, so a Node enrolled later with these labels is included."
        placeholder="env=prod"
        value={form.selector}
        onChange={(event) => set("selector", event.currentTarget.value)}
        error={error}
        rightSection={matching.isFetching || !settled ? <Loader size="xs" /> : null}
        data-testid="selector-input"
        spellCheck={false}
        autoComplete="off"
      />
      {selector && !error && matching.data && (
        <div data-testid="selector-matches">
          <Text size="xs" c="dimmed" mt={6} mb={4}>
            {nodes.length === 0
              ? "No Node matches now: a run would fail until one does."
              : `Matches ${nodes.length} Node${nodes.length === 1 ? "" : "s"} now`}
          </Text>
          <Group gap={6}>
            {nodes.map((n) => (
              <Badge key={n.id} variant="light" color={n.status === "online" ? "green" : "gray"} tt="none">
                {n.name}
                {n.status === "online" ? "" : " (offline)"}
              </Badge>
            ))}
          </Group>
        </div>
      )}
    </div>
  );
}

/** The fleet part of the job form: label selector with a live match preview, fan-out settings. */
export function FleetSection(props: SectionProps) {
  const { form, set } = props;
  const hasTargets = form.selector.trim() !== "" || form.nodes.length > 0;
  return (
    <Section
      title="Fleet"
      description="Select Nodes by label, and run the task once per Node instead of once over all of them."
    >
      <SelectorField {...props} />
      <Switch
        label="One run per Node (fan-out)"
        description="Each Node gets its own run with only its own tools; an offline Node is skipped, not dropped."
        checked={form.fanOut}
        onChange={(event) => set("fanOut", event.currentTarget.checked)}
        data-testid="fan-out-switch"
      />
      {form.fanOut && (
        <>
          {!hasTargets && (
            <Text size="sm" c="red">
              A fan-out needs Nodes: pick some above or give a selector.
            </Text>
          )}
          <NumberInput
            label="At most this many Nodes at once"
            min={1}
            max={MAX_FAN_OUT_CONCURRENCY}
            allowDecimal={false}
            value={form.concurrency}
            onChange={(value) => set("concurrency", value)}
            error={concurrencyError(form)}
            w={260}
          />
          <Checkbox
            label="Stop on the first failure (the Nodes not started yet are skipped)"
            checked={form.stopOnFailure}
            onChange={(event) => set("stopOnFailure", event.currentTarget.checked)}
          />
          <Checkbox
            label="Summarize: one more model turn reads every Node's result and writes the fleet answer"
            checked={form.summarize}
            onChange={(event) => set("summarize", event.currentTarget.checked)}
          />
        </>
      )}
    </Section>
  );
}
