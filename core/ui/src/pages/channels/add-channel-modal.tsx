import { Button, Group, Modal, PasswordInput, SegmentedControl, Stack, TextInput } from "@mantine/core";
import { type FormEvent, useState } from "react";
import { useCreateChannel } from "../../api/channels.ts";
import { CHANNEL_KINDS, type ChannelKind } from "../../api/types.ts";
import { ErrorAlert } from "../../components/query-state.tsx";
import { CHANNEL_FIELDS, configFromForm, KIND_LABELS } from "./channel-kinds.ts";

/** Adds a channel; the fields follow the kind, secret ones are write-only. */
export function AddChannelModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const create = useCreateChannel();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<ChannelKind>("webhook");
  const [values, setValues] = useState<Record<string, string>>({});
  const fields = CHANNEL_FIELDS[kind];
  const missing = fields.some((f) => f.required && !(values[f.key] ?? "").trim());
  const close = () => {
    create.reset();
    setName("");
    setValues({});
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim(), kind, config: configFromForm(kind, values) }, { onSuccess: close });
  };
  return (
    <Modal opened={opened} onClose={close} title="Add a channel" size="lg">
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Name"
            description="Jobs name it in their notifications"
            placeholder="ops-slack"
            required
            data-autofocus
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
          />
          <SegmentedControl
            aria-label="Kind"
            value={kind}
            onChange={(v) => {
              create.reset();
              setKind(v as ChannelKind);
            }}
            data={CHANNEL_KINDS.map((k) => ({ value: k, label: KIND_LABELS[k] }))}
          />
          {fields.map((field) => {
            const Input = field.secret ? PasswordInput : TextInput;
            return (
              <Input
                key={`${kind}-${field.key}`}
                label={field.label}
                description={field.secret ? `${field.description}. Encrypted; never shown again` : field.description}
                placeholder={field.placeholder}
                required={field.required}
                autoComplete="off"
                value={values[field.key] ?? ""}
                onChange={(e) => {
                  // Read now: React clears currentTarget once the handler returns.
                  const value = e.currentTarget.value;
                  setValues((v) => ({ ...v, [field.key]: value }));
                }}
              />
            );
          })}
          {create.error ? <ErrorAlert error={create.error} title="Not saved" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!name.trim() || missing}>
              Save channel
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
