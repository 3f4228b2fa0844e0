import { ActionIcon, Badge, Button, Text, Tooltip } from "@mantine/core";
import { IconPencil, IconPlugConnected } from "@tabler/icons-react";
import { useState } from "react";
import { errorMessage } from "../api/client.ts";
import { usePermissions } from "../api/me.ts";
import { useDeleteProvider, useProviders, useTestProvider } from "../api/providers.ts";
import type { Provider, ProviderKind } from "../api/types.ts";
import { PROVIDER_KINDS, ProviderFormModal } from "../components/provider-form-modal.tsx";
import { type ConnectionResult, ProviderTestResult } from "../components/provider-test-result.tsx";
import { ResourceList } from "../components/resource-list.tsx";

const kindLabel = (kind: ProviderKind) => PROVIDER_KINDS.find((k) => k.value === kind)?.label ?? kind;

export default function ProvidersPage() {
  const providers = useProviders();
  const test = useTestProvider();
  const remove = useDeleteProvider();
  // null: closed; "new": the add form; a provider: its edit form.
  const [form, setForm] = useState<Provider | "new" | null>(null);
  const [results, setResults] = useState<Record<string, ConnectionResult>>({});
  const [testing, setTesting] = useState<string | null>(null);
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
    <ResourceList
      title="Providers"
      description="Where models come from. Jobs pick a provider and model, with fallbacks."
      add={isAdmin && { label: "Add provider", onClick: () => setForm("new") }}
      query={providers}
      rowKey={(provider) => provider.id}
      minWidth={720}
      empty={{ title: "No providers yet", body: "Add LM Studio running on this machine, or a hosted API." }}
      columns={[
        { header: "Name", td: { fw: 600 }, cell: (provider) => provider.name },
        { header: "Kind", cell: (provider) => kindLabel(provider.kind) },
        {
          header: "Base URL",
          cell: (provider) => (
            <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
              {provider.baseUrl ?? "default"}
            </Text>
          ),
        },
        {
          header: "API key",
          cell: (provider) => (
            <Badge variant="light" color={provider.hasApiKey ? "green" : "gray"}>
              {provider.hasApiKey ? "set" : "none"}
            </Badge>
          ),
        },
        {
          header: "Connection",
          td: { maw: 360 },
          cell: (provider) => {
            const result = results[provider.id];
            return result && <ProviderTestResult result={result} />;
          },
        },
      ]}
      actions={(provider) => (
        <>
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
              <ActionIcon variant="subtle" aria-label={`Edit ${provider.name}`} onClick={() => setForm(provider)}>
                <IconPencil size={16} />
              </ActionIcon>
            </Tooltip>
          )}
        </>
      )}
      remove={
        isAdmin && {
          verb: "Delete",
          title: "Delete provider",
          mutation: remove,
          variables: (provider) => provider.id,
          name: (provider) => provider.name,
          confirm: (provider) => (
            <>
              Delete <b>{provider.name}</b> and its stored key? Jobs using it will fail over to their fallbacks, or
              fail.
            </>
          ),
        }
      }
    >
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
    </ResourceList>
  );
}
