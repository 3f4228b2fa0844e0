import { Alert, Badge, Group, List, PasswordInput, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAlertTriangle } from "@tabler/icons-react";
import { useState } from "react";
import { usePermissions } from "../api/me.ts";
import { useCreateSecret, useDeleteSecret, useSecrets, useUnreadableSecrets } from "../api/secrets.ts";
import { ResourceList } from "../components/resource-list.tsx";
import { ResourceFormModal } from "../components/resource-list-form.tsx";
import { TimeAgo } from "../components/time-ago.tsx";

function AddSecretModal({
  opened,
  onClose,
  existing,
}: {
  opened: boolean;
  onClose: () => void;
  /** Names already stored: saving one of them replaces its value, so that is asked first (issue 22.6). */
  existing: string[];
}) {
  const create = useCreateSecret();
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [confirmFor, setConfirmFor] = useState<string | null>(null);
  const close = () => {
    create.reset();
    setName("");
    setValue("");
    setConfirmFor(null);
    onClose();
  };
  const trimmed = name.trim();
  const replaces = existing.includes(trimmed);
  const asking = replaces && confirmFor === trimmed;
  const submit = () => {
    // The first press on an existing name only asks; the second (confirmed) one saves.
    if (replaces && confirmFor !== trimmed) {
      setConfirmFor(trimmed);
      return;
    }
    create.mutate({ name: trimmed, value }, { onSuccess: close });
  };
  return (
    <ResourceFormModal
      opened={opened}
      onClose={close}
      title="Add a secret"
      onSubmit={submit}
      submitLabel={asking ? "Replace the value" : "Save secret"}
      submitColor={asking ? "red" : undefined}
      submitting={create.isPending}
      canSubmit={Boolean(trimmed && value)}
      error={create.error}
      errorTitle="Not saved"
    >
      <TextInput
        label="Name"
        description="Used to refer to it, e.g. from an MCP server's settings"
        placeholder="BRAVE_API_KEY"
        required
        data-autofocus
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
      />
      <PasswordInput
        label="Value"
        description="Encrypted at rest; it can be replaced or deleted but never read back here"
        required
        autoComplete="off"
        value={value}
        onChange={(e) => setValue(e.currentTarget.value)}
      />
      {asking ? (
        <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title={`Replace ${trimmed}?`}>
          A secret with this name exists. Saving replaces its value for every job and MCP server that uses it; the old
          value cannot be brought back.
        </Alert>
      ) : null}
    </ResourceFormModal>
  );
}

export default function SecretsPage() {
  const secrets = useSecrets();
  const unreadable = useUnreadableSecrets();
  const remove = useDeleteSecret();
  const [addOpened, addModal] = useDisclosure(false);
  const { isAdmin } = usePermissions();

  return (
    <ResourceList
      title="Secrets"
      description="Values such as API keys, encrypted on the Core and handed to a Node only when it needs them."
      add={isAdmin && { label: "Add secret", onClick: addModal.open }}
      above={
        (unreadable.data ?? []).length > 0 ? (
          <Alert
            color="red"
            icon={<IconAlertTriangle size={18} />}
            title="Stored values that cannot be decrypted"
            mb="md"
            data-testid="unreadable-secrets"
          >
            <Text size="sm" mb="xs">
              Only what uses them fails. Set each one again (or restore the right master key).
            </Text>
            <List size="sm">
              {(unreadable.data ?? []).map((u) => (
                <List.Item key={`${u.kind}:${u.id}`}>{u.message}</List.Item>
              ))}
            </List>
          </Alert>
        ) : null
      }
      query={secrets}
      rowKey={(secret) => secret.name}
      minWidth={480}
      empty={{ title: "No secrets yet" }}
      columns={[
        {
          header: "Name",
          cell: (secret) => (
            <Group gap="xs">
              <Text ff="monospace" size="sm">
                {secret.name}
              </Text>
              {secret.unreadable ? (
                <Badge color="red" variant="light">
                  cannot be decrypted
                </Badge>
              ) : null}
            </Group>
          ),
        },
        { header: "Created", cell: (secret) => <TimeAgo iso={secret.createdAt} /> },
        { header: "Updated", cell: (secret) => <TimeAgo iso={secret.updatedAt} /> },
      ]}
      remove={
        isAdmin && {
          verb: "Delete",
          title: "Delete secret",
          mutation: remove,
          variables: (secret) => secret.name,
          name: (secret) => secret.name,
          confirm: (secret) => (
            <>
              Delete <b>{secret.name}</b>? MCP servers that use it lose the value the next time they start.
            </>
          ),
        }
      }
    >
      <AddSecretModal opened={addOpened} onClose={addModal.close} existing={(secrets.data ?? []).map((s) => s.name)} />
    </ResourceList>
  );
}
