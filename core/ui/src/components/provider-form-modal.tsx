import { Button, NumberInput, PasswordInput, Select, TextInput } from "@mantine/core";
import { IconPlugConnected } from "@tabler/icons-react";
import { useState } from "react";
import { errorMessage, fieldErrors } from "../api/client.ts";
import { type ProviderInput, useCreateProvider, useTestProviderSettings, useUpdateProvider } from "../api/providers.ts";
import type { Provider, ProviderKind, ProviderOptions } from "../api/types.ts";
import { type ConnectionResult, ProviderTestResult } from "./provider-test-result.tsx";
import { ResourceFormModal } from "./resource-list-form.tsx";

export const PROVIDER_KINDS: { value: ProviderKind; label: string; baseUrl: string; needsKey: boolean }[] = [
  { value: "lmstudio", label: "LM Studio (local)", baseUrl: "http://localhost:1234/v1", needsKey: false },
  { value: "openai", label: "OpenAI", baseUrl: "https://api.openai.com/v1", needsKey: true },
  { value: "anthropic", label: "Anthropic", baseUrl: "https://api.anthropic.com", needsKey: true },
  { value: "openai-compatible", label: "OpenAI-compatible", baseUrl: "", needsKey: false },
];

const num = (v: number | string) => (typeof v === "number" ? v : undefined);

/**
 * Add a provider, or edit one (`provider` given): every field as stored, the key kept unless a
 * new one is typed. "Test" tries the settings as typed before anything is saved (issue 22.6);
 * the Core's word on a field is shown at that field and goes once the field is changed.
 */
export function ProviderFormModal({ provider, onClose }: { provider: Provider | null; onClose: () => void }) {
  const create = useCreateProvider();
  const update = useUpdateProvider();
  const save = provider ? update : create;
  const test = useTestProviderSettings();
  const first = PROVIDER_KINDS[0]!;
  const [kind, setKind] = useState<ProviderKind>(provider?.kind ?? first.value);
  const [name, setName] = useState(provider?.name ?? first.value);
  const [baseUrl, setBaseUrl] = useState(provider ? (provider.baseUrl ?? "") : first.baseUrl);
  const [apiKey, setApiKey] = useState("");
  const [contextTokens, setContextTokens] = useState<number | string>(provider?.options?.contextTokens ?? "");
  const [maxConcurrent, setMaxConcurrent] = useState<number | string>(provider?.options?.maxConcurrent ?? "");
  const [result, setResult] = useState<ConnectionResult | null>(null);
  const spec = PROVIDER_KINDS.find((k) => k.value === kind);
  const errors = { ...fieldErrors(test.error), ...fieldErrors(save.error) };
  const otherError = save.error && Object.keys(fieldErrors(save.error)).length === 0 ? save.error : null;

  /** A field changed: what the Core said about the old value (and the last test) no longer holds. */
  const edited = <T,>(set: (value: T) => void) => {
    return (value: T) => {
      set(value);
      save.reset();
      test.reset();
      setResult(null);
    };
  };

  const changeKind = edited((value: string | null) => {
    const next = PROVIDER_KINDS.find((k) => k.value === value);
    if (!next) return;
    // Keep what the user typed; only replace values that were still the previous kind's defaults.
    if (!baseUrl || baseUrl === spec?.baseUrl) setBaseUrl(next.baseUrl);
    if (!provider && (!name || name === spec?.value)) setName(next.value);
    setKind(next.value);
  });

  const options = (): ProviderOptions | undefined => {
    const { contextTokens: _c, maxConcurrent: _m, ...kept } = provider?.options ?? {};
    const typed = { contextTokens: num(contextTokens), maxConcurrent: num(maxConcurrent) };
    const merged = Object.fromEntries(Object.entries({ ...kept, ...typed }).filter(([, v]) => v !== undefined));
    return Object.keys(merged).length > 0 || provider ? merged : undefined;
  };

  const body = (): ProviderInput => ({
    name: name.trim(),
    kind,
    ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
    ...(apiKey ? { apiKey } : {}),
    ...(options() ? { options: options() } : {}),
  });

  const runTest = () => {
    setResult(null);
    test.mutate(
      { ...body(), ...(provider ? { providerId: provider.id } : {}) },
      {
        onSuccess: (answer) =>
          setResult(
            answer.ok
              ? { ok: true, count: answer.models, ids: answer.modelIds ?? [] }
              : { ok: false, message: answer.error.message },
          ),
        onError: (error) => {
          if (Object.keys(fieldErrors(error)).length === 0) setResult({ ok: false, message: errorMessage(error) });
        },
      },
    );
  };

  const submit = () => {
    if (provider) update.mutate({ id: provider.id, patch: body() }, { onSuccess: onClose });
    else create.mutate(body(), { onSuccess: onClose });
  };

  return (
    <ResourceFormModal
      opened
      onClose={onClose}
      title={provider ? `Edit ${provider.name}` : "Add a model provider"}
      onSubmit={submit}
      noValidate
      submitLabel={provider ? "Save" : "Add provider"}
      submitting={save.isPending}
      canSubmit={Boolean(name.trim())}
      error={otherError}
      errorTitle={provider ? "Not saved" : "Not added"}
      footerStart={
        <Button
          variant="light"
          leftSection={<IconPlugConnected size={14} />}
          loading={test.isPending}
          onClick={runTest}
        >
          Test
        </Button>
      }
    >
      <Select
        label="Kind"
        data={PROVIDER_KINDS.map((k) => ({ value: k.value, label: k.label }))}
        value={kind}
        onChange={changeKind}
        allowDeselect={false}
      />
      <TextInput
        label="Name"
        required
        value={name}
        error={errors.name}
        onChange={(e) => edited(setName)(e.currentTarget.value)}
      />
      <TextInput
        label="Base URL"
        required={kind === "openai-compatible"}
        placeholder={kind === "openai-compatible" ? "http://host:8000/v1" : spec?.baseUrl}
        inputMode="url"
        autoComplete="url"
        value={baseUrl}
        error={errors.baseUrl}
        onChange={(e) => edited(setBaseUrl)(e.currentTarget.value)}
      />
      <PasswordInput
        label={kind === "lmstudio" ? "API token" : "API key"}
        description={
          provider?.hasApiKey
            ? "A key is stored; leave this empty to keep it, or type a new one to replace it"
            : kind === "lmstudio"
              ? "Needed when LM Studio's “Require Authentication” is on (Developer → Server Settings → Manage Tokens). Stored encrypted; never shown again"
              : "Stored encrypted; it is never shown again"
        }
        required={spec?.needsKey && !provider?.hasApiKey}
        autoComplete="off"
        value={apiKey}
        error={errors.apiKey}
        onChange={(e) => edited(setApiKey)(e.currentTarget.value)}
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
            error={errors["options.contextTokens"]}
            onChange={edited(setContextTokens)}
          />
          <NumberInput
            label="Parallel requests"
            description="At most this many model requests at once; more wait in their runs (“waiting for model”). Match LM Studio's Max Concurrent Predictions"
            placeholder="4 on LM Studio 0.4+, 1 on 0.3"
            min={1}
            max={256}
            allowDecimal={false}
            value={maxConcurrent}
            error={errors["options.maxConcurrent"]}
            onChange={edited(setMaxConcurrent)}
          />
        </>
      )}
      {result && <ProviderTestResult result={result} />}
    </ResourceFormModal>
  );
}
