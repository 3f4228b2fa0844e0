import { ActionIcon, Checkbox, Group, Select } from "@mantine/core";
import { IconX } from "@tabler/icons-react";

/** One rule of the Results section: what it points at (a channel, a job), the outcomes it fires
 * on, and its remove button. Notifications and chained jobs are both lists of these. */
export function RuleRow<E extends string>(props: {
  label?: string | undefined;
  /** The row's accessible name, e.g. "Notification 1": the parts are named after it. */
  name: string;
  targetName: string;
  eventsName: string;
  placeholder: string;
  options: { value: string; label: string }[];
  target: string | null;
  onTarget: (value: string) => void;
  events: readonly { value: E; label: string }[];
  on: E[];
  onEvents: (on: E[]) => void;
  onRemove: () => void;
}) {
  return (
    <Group align="flex-end" gap="sm" wrap="wrap">
      <Select
        label={props.label}
        aria-label={props.targetName}
        placeholder={props.placeholder}
        data={props.options}
        value={props.target}
        onChange={(v) => props.onTarget(v ?? "")}
        w={260}
      />
      <Checkbox.Group value={props.on} onChange={(v) => props.onEvents(v as E[])}>
        <Group gap="md" pb={6} role="group" aria-label={props.eventsName}>
          {props.events.map((e) => (
            <Checkbox key={e.value} value={e.value} label={e.label} />
          ))}
        </Group>
      </Checkbox.Group>
      <ActionIcon variant="subtle" color="gray" aria-label={`Remove ${props.name}`} onClick={props.onRemove} mb={6}>
        <IconX size={16} />
      </ActionIcon>
    </Group>
  );
}
