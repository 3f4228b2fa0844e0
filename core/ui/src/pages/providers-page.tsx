import { ActionIcon, Badge, Button, Group, Table, Text, Tooltip } from "@mantine/core";
import { IconPencil, IconPlugConnected, IconPlus } from "@tabler/icons-react";
import { useState } from "react";
import { errorMessage } from "../api/client.ts";
import { usePermissions } from "../api/me.ts";
import { useDeleteProvider, useProviders, useTestProvider } from "../api/providers.ts";
import type { Provider, ProviderKind } from "../api/types.ts";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { PROVIDER_KINDS, ProviderFormModal } from "../components/provider-form-modal.tsx";
import { type ConnectionResult, ProviderTestResult } from "../components/provider-test-result.tsx";
import { QueryState } from "../components/query-state.tsx";

const kindLabel = (kind: ProviderKind) => PROVIDER_KINDS.find((k) => k.value === kind)?.label ?? kind;

export default function ProvidersPage() {
  const providers = useProviders();
  const test = useTestProvider();
  const remove = useDeleteProvider();
  // null: closed; "new": the add form; a provider: its edit form.
  const [form, setForm] = useState<Provider | "new" | null>(null);
  const [results, setResults] = useState<Record<string, ConnectionResult>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const { isAdmin } = usePermissions();

  const runTest = (provider: Provider) => {
    setTesting(provider.id);
    test.mutate(provider.id, {
      onSuccess: (models) =>
        setResults((r) => ({ ...r, [provider.id]: { ok: true, count: models.length, ids: models.map((m) => m.id) } })),
      onError: (error) => setResults((r) => ({ ...r, [provider.id]: { ok: false, message: errorMessage(error) } })),
      onSettled: () => setTesting(null),
    });
  };

  return (
    <>
      <PageHeader
        title="Providers"
        description="Where models come from. Jobs pick a provider and model, with fallbacks."
        actions={
          isAdmin && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setForm("new")}>
              Add provider
            </Button>
          )
        }
      />
      <QueryState isPending={providers.isPending} error={providers.error} onRetry={() => providers.refetch()}>
        {(providers.data ?? []).length === 0 ? (
          <Empty title="No providers yet">Add LM Studio running on this machine, or a hosted API.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={720}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Base URL</Table.Th>
                  <Table.Th>API key</Table.Th>
                  <Table.Th>Connection</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {(providers.data ?? []).map((provider) => {
                  const result = results[provider.id];
                  return (
                    <Table.Tr key={provider.id}>
                      <Table.Td fw={600}>{provider.name}</Table.Td>
                      <Table.Td>{kindLabel(provider.kind)}</Table.Td>
                      <Table.Td>
                        <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
                          {provider.baseUrl ?? "default"}
                        </Text>
                      </Table.Td>
                      <Table.Td>
                        <Badge variant="light" color={provider.hasApiKey ? "green" : "gray"}>
                          {provider.hasApiKey ? "set" : "none"}
                        </Badge>
                      </Table.Td>
                      <Table.Td maw={360}>{result && <ProviderTestResult result={result} />}</Table.Td>
                      <Table.Td>
                        <Group gap={4} wrap="nowrap" justify="flex-end">
                          <Button
                            size="xs"
                            variant="light"
                            leftSection={<IconPlugConnected size={14} />}
                            loading={testing === provider.id}
                            onClick={() => runTest(provider)}
                          >
                            Test
                          </Button>
                          {isAdmin && (
                            <Tooltip label="Edit" withArrow>
                              <ActionIcon
                                variant="subtle"
                                aria-label={`Edit ${provider.name}`}
                                onClick={() => setForm(provider)}
                              >
                                <IconPencil size={16} />
                              </ActionIcon>
                            </Tooltip>
                          )}
                          {isAdmin && (
                            <DangerIconButton
                              tooltip="Delete"
                              ariaLabel={`Delete ${provider.name}`}
                              onClick={() => {
                                remove.reset();
                                setDeleting(provider);
                              }}
                            />
                          )}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      <Text size="xs" c="dimmed" mt="md">
        Test lists the provider's models through the Core, so it checks the address and key as jobs will use them.
      </Text>
      {form !== null && (
        <ProviderFormModal
          key={form === "new" ? "new" : form.id}
          provider={form === "new" ? null : form}
          onClose={() => setForm(null)}
        />
      )}
      <ConfirmDangerModal
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(provider) => provider.id}
        title="Delete provider"
        confirmLabel="Delete"
      >
        Delete <b>{deleting?.name}</b> and its stored key? Jobs using it will fail over to their fallbacks, or fail.
      </ConfirmDangerModal>
    </>
  );
}
