import {
  Badge,
  Button,
  Group,
  Modal,
  NumberInput,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconCheck, IconPlugConnected, IconPlus, IconX } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { errorMessage } from "../api/client.ts";
import { usePermissions } from "../api/me.ts";
import { useCreateProvider, useDeleteProvider, useProviders, useTestProvider } from "../api/providers.ts";
import type { Provider, ProviderKind, ProviderModel } from "../api/types.ts";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";

const KINDS: { value: ProviderKind; label: string; baseUrl: string; needsKey: boolean }[] = [
  { value: "lmstudio", label: "LM Studio (local)", baseUrl: "http://localhost:1234/v1", needsKey: false },
  { value: "openai", label: "OpenAI", baseUrl: "https://api.openai.com/v1", needsKey: true },
  { value: "anthropic", label: "Anthropic", baseUrl: "https://api.anthropic.com", needsKey: true },
  { value: "openai-compatible", label: "OpenAI-compatible", baseUrl: "", needsKey: false },
];
const kindLabel = (kind: ProviderKind) => KINDS.find((k) => k.value === kind)?.label ?? kind;

type TestResult = { ok: true; models: ProviderModel[] } | { ok: false; message: string };

function AddProviderModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const create = useCreateProvider();
  const [kind, setKind] = useState<ProviderKind>("lmstudio");
  const [name, setName] = useState("lmstudio");
  const [baseUrl, setBaseUrl] = useState(KINDS[0]?.baseUrl ?? "");
  const [apiKey, setApiKey] = useState("");
  const [contextTokens, setContextTokens] = useState<number | string>("");
  const [maxConcurrent, setMaxConcurrent] = useState<number | string>("");
  const spec = KINDS.find((k) => k.value === kind);

  const close = () => {
    create.reset();
    setContextTokens("");
    setMaxConcurrent("");
    setKind("lmstudio");
    setName("lmstudio");
    setBaseUrl(KINDS[0]?.baseUrl ?? "");
    setApiKey("");
    onClose();
  };

  const changeKind = (value: string | null) => {
    const next = KINDS.find((k) => k.value === value);
    if (!next) return;
    // Keep what the user typed; only replace values that were still the previous kind's defaults.
    if (!baseUrl || baseUrl === spec?.baseUrl) setBaseUrl(next.baseUrl);
    if (!name || name === spec?.value) setName(next.value);
    setKind(next.value);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      {
        name: name.trim(),
        kind,
        ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
        ...(apiKey ? { apiKey } : {}),
        ...(typeof contextTokens === "number" || typeof maxConcurrent === "number"
          ? {
              options: {
                ...(typeof contextTokens === "number" ? { contextTokens } : {}),
                ...(typeof maxConcurrent === "number" ? { maxConcurrent } : {}),
              },
            }
          : {}),
      },
      { onSuccess: close },
    );
  };

  return (
    <Modal opened={opened} onClose={close} title="Add a model provider">
      <form onSubmit={submit}>
        <Stack>
          <Select
            label="Kind"
            data={KINDS.map((k) => ({ value: k.value, label: k.label }))}
            value={kind}
            onChange={changeKind}
            allowDeselect={false}
          />
          <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
          <TextInput
            label="Base URL"
            required={kind === "openai-compatible"}
            placeholder={kind === "openai-compatible" ? "http://host:8000/v1" : spec?.baseUrl}
            type="url"
            value={baseUrl}
            onChange={(e) => setBaseUrl(e.currentTarget.value)}
          />
          <PasswordInput
            label={kind === "lmstudio" ? "API token" : "API key"}
            description={
              kind === "lmstudio"
                ? "Needed when LM Studio's “Require Authentication” is on (Developer → Server Settings → Manage Tokens). Stored encrypted; never shown again"
                : "Stored encrypted; it is never shown again"
            }
            required={spec?.needsKey}
            autoComplete="off"
            value={apiKey}
            onChange={(e) => setApiKey(e.currentTarget.value)}
          />
          {kind === "lmstudio" && (
            <>
              <NumberInput
                label="Context length"
                description="Tokens to load a model with when it is not loaded; a loaded model's own context length is read from LM Studio"
                placeholder="LM Studio's default"
                min={512}
                step={1024}
                allowDecimal={false}
                value={contextTokens}
                onChange={setContextTokens}
              />
              <NumberInput
                label="Parallel requests"
                description="At most this many model requests at once; more wait in their runs (“waiting for model”). Match LM Studio's Max Concurrent Predictions"
                placeholder="4 on LM Studio 0.4+, 1 on 0.3"
                min={1}
                max={256}
                allowDecimal={false}
                value={maxConcurrent}
                onChange={setMaxConcurrent}
              />
            </>
          )}
          {create.error ? <ErrorAlert error={create.error} title="Not added" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={create.isPending} disabled={!name.trim()}>
              Add provider
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function ProvidersPage() {
  const providers = useProviders();
  const test = useTestProvider();
  const remove = useDeleteProvider();
  const [addOpened, addModal] = useDisclosure(false);
  const [results, setResults] = useState<Record<string, TestResult>>({});
  const [testing, setTesting] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Provider | null>(null);
  const { isAdmin } = usePermissions();

  const runTest = (provider: Provider) => {
    setTesting(provider.id);
    test.mutate(provider.id, {
      onSuccess: (models) => setResults((r) => ({ ...r, [provider.id]: { ok: true, models } })),
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
            <Button leftSection={<IconPlus size={16} />} onClick={addModal.open}>
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
                      <Table.Td maw={360}>
                        {result?.ok === true && (
                          <Group gap={6} wrap="nowrap" align="flex-start">
                            <IconCheck size={16} color="var(--mantine-color-green-6)" aria-hidden />
                            <Text size="sm">
                              Connected — {result.models.length} model{result.models.length === 1 ? "" : "s"}
                              {result.models.length > 0 && (
                                <Text span size="xs" c="dimmed" display="block">
                                  {result.models
                                    .slice(0, 5)
                                    .map((m) => m.id)
                                    .join(", ")}
                                  {result.models.length > 5 ? ", …" : ""}
                                </Text>
                              )}
                            </Text>
                          </Group>
                        )}
                        {result?.ok === false && (
                          <Group gap={6} wrap="nowrap" align="flex-start">
                            <IconX size={16} color="var(--mantine-color-red-6)" aria-hidden />
                            <Text size="sm" c="red" className="fc-pre">
                              {result.message}
                            </Text>
                          </Group>
                        )}
                      </Table.Td>
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
      <AddProviderModal opened={addOpened} onClose={addModal.close} />
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
