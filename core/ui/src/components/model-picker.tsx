import { ActionIcon, Alert, Autocomplete, Group, Select, Text, Tooltip } from "@mantine/core";
import { IconAlertTriangle, IconTrash } from "@tabler/icons-react";
import { errorMessage } from "../api/client.ts";
import { useProviderModels } from "../api/providers.ts";
import type { ModelRef, Provider } from "../api/types.ts";

/** Jobs may name a provider by id or by name; the form always works with the id. */
export function resolveProviderId(providers: Provider[], ref: string): string {
  return providers.find((p) => p.id === ref)?.id ?? providers.find((p) => p.name === ref)?.id ?? ref;
}

/** Provider + model for one slot (the primary model or a fallback). The model field accepts free
 * text, so a provider that cannot list its models right now does not block saving. */
export function ModelPicker({
  value,
  onChange,
  providers,
  label,
  onRemove,
}: {
  value: ModelRef;
  onChange: (value: ModelRef) => void;
  providers: Provider[];
  label?: string;
  onRemove?: () => void;
}) {
  const models = useProviderModels(value.provider || null);
  const selected = models.data?.find((m) => m.id === value.model);
  const providerKnown = providers.some((p) => p.id === value.provider);

  return (
    <div>
      <Group align="flex-end" gap="xs" wrap="wrap">
        <Select
          label={label ? `${label}: provider` : "Provider"}
          required
          placeholder={providers.length ? "Pick a provider" : "Add a provider first"}
          data={[
            ...providers.map((p) => ({ value: p.id, label: p.name })),
            ...(value.provider && !providerKnown
              ? [{ value: value.provider, label: `${value.provider} (unknown)` }]
              : []),
          ]}
          value={value.provider || null}
          onChange={(provider) => onChange({ provider: provider ?? "", model: "" })}
          allowDeselect={false}
          style={{ flex: "1 1 180px" }}
        />
        <Autocomplete
          label={label ? `${label}: model` : "Model"}
          required
          placeholder={models.isFetching ? "Loading models…" : "Model id"}
          data={(models.data ?? []).map((m) => m.id)}
          value={value.model}
          onChange={(model) => onChange({ ...value, model })}
          limit={50}
          style={{ flex: "2 1 240px" }}
        />
        {onRemove && (
          <Tooltip label="Remove fallback" withArrow>
            <ActionIcon variant="subtle" color="red" aria-label="Remove fallback" onClick={onRemove} mb={4}>
              <IconTrash size={16} />
            </ActionIcon>
          </Tooltip>
        )}
      </Group>
      {models.error ? (
        <Text size="xs" c="orange" mt={4}>
          Could not list this provider's models ({errorMessage(models.error)}); type the model id.
        </Text>
      ) : null}
      {selected?.toolUse === false && (
        <Alert color="yellow" variant="light" mt="xs" icon={<IconAlertTriangle size={16} />} p="xs">
          <Text size="sm">
            {selected.id} is not trained for tool use: LM Studio prompts it with its generic tool format and its calls
            are read from its text, which such models often get wrong. Pick a model marked for tool use for reliable
            calls.
          </Text>
        </Alert>
      )}
      {selected?.loaded === false && (
        <Text size="xs" c="dimmed" mt={4}>
          Not loaded right now; a run loads it first (shown as “waiting for model”), which can take a while.
        </Text>
      )}
      {selected?.loadedContextLength !== undefined && (
        <Text size="xs" c="dimmed" mt={4}>
          Loaded with a {selected.loadedContextLength.toLocaleString("en")}-token context
          {selected.loadedContextLength < 8192 ? ": long tool outputs will be cut to fit" : ""}.
        </Text>
      )}
    </div>
  );
}
