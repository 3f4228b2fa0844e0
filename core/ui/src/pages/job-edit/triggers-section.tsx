import { Checkbox, Group, Radio } from "@mantine/core";
import type { MisfirePolicy } from "../../api/types.ts";
import { CronField } from "../../components/cron-field.tsx";
import { WebhookField } from "../../components/webhook-field.tsx";
import { type SectionProps, slugify } from "./form-model.ts";
import { Section } from "./section.tsx";

export function TriggersSection({
  form,
  set,
  setForm,
  hasStoredSecret,
  errors,
}: SectionProps & { hasStoredSecret: boolean }) {
  return (
    <Section title="Triggers" description="Run now always works; a job may also run on a schedule and on a webhook.">
      <Checkbox
        label="On a schedule"
        checked={form.scheduled}
        onChange={(e) => set("scheduled", e.currentTarget.checked)}
      />
      {form.scheduled && (
        <CronField
          cron={form.cron}
          timezone={form.timezone}
          onChange={({ cron, timezone }) => setForm((f) => ({ ...f, cron, timezone }))}
        />
      )}
      {form.scheduled && (
        <Radio.Group
          label="If the Core was down at fire time"
          value={form.misfire}
          onChange={(value) => set("misfire", value as MisfirePolicy)}
        >
          <Group mt="xs" gap="lg">
            <Radio value="run_once" label="Run once when it is back" />
            <Radio value="skip" label="Skip (only record the miss)" />
          </Group>
        </Radio.Group>
      )}
      <Checkbox
        label="On a webhook"
        checked={form.webhookOn}
        onChange={(e) => {
          const on = e.currentTarget.checked;
          setForm((f) => ({ ...f, webhookOn: on, slug: f.slug || slugify(f.name) }));
        }}
      />
      {form.webhookOn && (
        <WebhookField
          slug={form.slug}
          secret={form.secret}
          hasStoredSecret={hasStoredSecret}
          errors={{ slug: errors?.["webhook.slug"], secret: errors?.["webhook.secret"] }}
          onChange={({ slug, secret }) => setForm((f) => ({ ...f, slug, secret }))}
        />
      )}
      {form.webhookOn && !form.secret && !hasStoredSecret && (
        <Checkbox
          label="Public: anyone who knows the URL may start this job"
          description="The Core saves a webhook without a secret only when you say so here"
          checked={form.webhookPublic}
          error={errors?.webhook}
          onChange={(e) => set("webhookPublic", e.currentTarget.checked)}
        />
      )}
    </Section>
  );
}
