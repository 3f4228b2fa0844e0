import { Button, Group, NumberInput, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import type { Provider } from "../../api/types.ts";
import { ModelPicker } from "../../components/model-picker.tsx";
import { ErrorAlert } from "../../components/query-state.tsx";
import type { SectionProps } from "./form-model.ts";
import { Section } from "./section.tsx";

export function ModelSection({
  form,
  set,
  providers,
  providersError,
  errors,
}: SectionProps & { providers: Provider[]; providersError: unknown }) {
  return (
    <Section title="Model" description="Fallbacks are tried in order when the model before them fails.">
      {providersError ? <ErrorAlert error={providersError} title="Providers could not be loaded" /> : null}
      <ModelPicker value={form.model} onChange={(m) => set("model", m)} providers={providers} />
      {(errors?.["model.provider"] ?? errors?.["model.model"] ?? errors?.model) && (
        <Text size="xs" c="red" role="alert">
          {errors?.["model.provider"] ?? errors?.["model.model"] ?? errors?.model}
        </Text>
      )}
      {form.fallbacks.map((fallback, index) => (
        <ModelPicker
          // Rows are positional: added at the end, removed by index.
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          key={index}
          label={`Fallback ${index + 1}`}
          value={fallback}
          providers={providers}
          onChange={(m) =>
            set(
              "fallbacks",
              form.fallbacks.map((f, i) => (i === index ? m : f)),
            )
          }
          onRemove={() =>
            set(
              "fallbacks",
              form.fallbacks.filter((_, i) => i !== index),
            )
          }
        />
      ))}
      <Group>
        <Button
          variant="light"
          size="xs"
          leftSection={<IconPlus size={14} />}
          onClick={() => set("fallbacks", [...form.fallbacks, { provider: providers[0]?.id ?? "", model: "" }])}
        >
          Add fallback
        </Button>
      </Group>
      <NumberInput
        label="Max steps"
        description="The run stops after this many model turns and tool calls"
        min={1}
        max={500}
        value={form.maxSteps}
        error={errors?.maxSteps}
        onChange={(value) => set("maxSteps", typeof value === "number" ? value : Number(value) || 20)}
        w={200}
      />
    </Section>
  );
}
