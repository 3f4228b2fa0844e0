import { Switch, Textarea, TextInput } from "@mantine/core";
import type { SectionProps } from "./form-model.ts";
import { PromptPreview } from "./prompt-preview.tsx";
import { Section } from "./section.tsx";

export function TaskSection({ form, set, errors }: SectionProps) {
  return (
    <Section title="Task">
      <TextInput
        label="Name"
        required
        placeholder="disk-report"
        value={form.name}
        error={errors?.name}
        onChange={(e) => set("name", e.currentTarget.value)}
      />
      <Textarea
        label="Prompt"
        description="What the agent should do. It sees the tools of the chosen Nodes."
        required
        autosize
        minRows={4}
        maxRows={16}
        placeholder="Check disk space on this server and summarise."
        value={form.prompt}
        error={errors?.prompt}
        onChange={(e) => set("prompt", e.currentTarget.value)}
      />
      {/* Only once the prompt has a placeholder: most prompts are plain text. */}
      {form.prompt.includes("{{") && <PromptPreview prompt={form.prompt} name={form.name} />}
      <Switch
        label="Enabled"
        description="Paused jobs keep their settings but do not fire on schedule or webhook"
        checked={form.enabled}
        onChange={(e) => set("enabled", e.currentTarget.checked)}
      />
    </Section>
  );
}
