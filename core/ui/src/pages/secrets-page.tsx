import { Alert, Badge, Button, Group, List, Modal, PasswordInput, Stack, Table, Text, TextInput } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAlertTriangle, IconPlus } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { usePermissions } from "../api/me.ts";
import { useCreateSecret, useDeleteSecret, useSecrets, useUnreadableSecrets } from "../api/secrets.ts";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
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
  const submit = (event: FormEvent) => {
    event.preventDefault();
    // The first press on an existing name only asks; the second (confirmed) one saves.
    if (replaces && confirmFor !== trimmed) {
      setConfirmFor(trimmed);
      return;
    }
    create.mutate({ name: trimmed, value }, { onSuccess: close });
  };
  return (
    <Modal opened={opened} onClose={close} title="Add a secret">
      <form onSubmit={submit}>
        <Stack>
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
          {replaces && confirmFor === trimmed ? (
            <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title={`Replace ${trimmed}?`}>
              A secret with this name exists. Saving replaces its value for every job and MCP server that uses it; the
              old value cannot be brought back.
            </Alert>
          ) : null}
          {create.error ? <ErrorAlert error={create.error} title="Not saved" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button
              type="submit"
              color={replaces && confirmFor === trimmed ? "red" : undefined}
              loading={create.isPending}
              disabled={!trimmed || !value}
            >
              {replaces && confirmFor === trimmed ? "Replace the value" : "Save secret"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function SecretsPage() {
  const secrets = useSecrets();
  const unreadable = useUnreadableSecrets();
  const remove = useDeleteSecret();
  const [addOpened, addModal] = useDisclosure(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const { isAdmin } = usePermissions();

  return (
    <>
      <PageHeader
        title="Secrets"
        description="Values such as API keys, encrypted on the Core and handed to a Node only when it needs them."
        actions={
          isAdmin && (
            <Button leftSection={<IconPlus size={16} />} onClick={addModal.open}>
              Add secret
            </Button>
          )
        }
      />
      {(unreadable.data ?? []).length > 0 ? (
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
      ) : null}
      <QueryState isPending={secrets.isPending} error={secrets.error} onRetry={() => secrets.refetch()}>
        {(secrets.data ?? []).length === 0 ? (
          <Empty title="No secrets yet" />
        ) : (
          <Table.ScrollContainer minWidth={480}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Updated</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(secrets.data ?? []).map((secret) => (
                  <Table.Tr key={secret.name}>
                    <Table.Td>
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
                    </Table.Td>
                    <Table.Td>
                      <TimeAgo iso={secret.createdAt} />
                    </Table.Td>
                    <Table.Td>
                      <TimeAgo iso={secret.updatedAt ?? secret.createdAt} />
                    </Table.Td>
                    <Table.Td align="right">
                      {isAdmin && (
                        <DangerIconButton
                          tooltip="Delete"
                          ariaLabel={`Delete ${secret.name}`}
                          onClick={() => {
                            remove.reset();
                            setDeleting(secret.name);
                          }}
                        />
                      )}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      <AddSecretModal opened={addOpened} onClose={addModal.close} existing={(secrets.data ?? []).map((s) => s.name)} />
      <ConfirmDangerModal
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(name) => name}
        title="Delete secret"
        confirmLabel="Delete"
      >
        Delete <b>{deleting}</b>? MCP servers that use it lose the value the next time they start.
      </ConfirmDangerModal>
    </>
  );
}
