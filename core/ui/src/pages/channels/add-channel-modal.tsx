import { PasswordInput, SegmentedControl, TextInput } from "@mantine/core";
import { useState } from "react";
import { useCreateChannel } from "../../api/channels.ts";
import { CHANNEL_KINDS, type ChannelKind } from "../../api/types.ts";
import { ResourceFormModal } from "../../components/resource-list-form.tsx";
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
  return (
    <ResourceFormModal
      opened={opened}
      onClose={close}
      title="Add a channel"
      modal={{ size: "lg" }}
      onSubmit={() =>
        create.mutate({ name: name.trim(), kind, config: configFromForm(kind, values) }, { onSuccess: close })
      }
      submitLabel="Save channel"
      submitting={create.isPending}
      canSubmit={Boolean(name.trim()) && !missing}
      error={create.error}
      errorTitle="Not saved"
    >
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
    </ResourceFormModal>
  );
}
