import { Group, NumberInput, SegmentedControl } from "@mantine/core";
import {
  DEFAULT_BUDGET,
  MAX_BUDGET_SECONDS,
  MAX_BUDGET_TOKENS,
  type TimeUnit,
  UNIT_SECONDS,
} from "../../lib/budget.ts";
import { formatNumber } from "../../lib/format.ts";
import { budgetErrors, type SectionProps, withBudgetUnit } from "./form-model.ts";
import { Section } from "./section.tsx";

export function BudgetSection({ form, set, setForm }: SectionProps) {
  const problems = budgetErrors(form);
  return (
    <Section
      title="Budget"
      description="Hard limits per run. A run that spends more fails at once: no further model call, tool calls in flight aborted."
    >
      <Group align="flex-start" gap="lg">
        <NumberInput
          label="Max tokens"
          description={`Prompt + completion. Default ${formatNumber(DEFAULT_BUDGET.maxTokens)}`}
          min={1}
          max={MAX_BUDGET_TOKENS}
          allowDecimal={false}
          allowNegative={false}
          clampBehavior="none"
          thousandSeparator=","
          value={form.budgetTokens}
          onChange={(value) => set("budgetTokens", value)}
          error={problems.tokens}
          w={280}
        />
        <NumberInput
          label="Max run time"
          description={`Approval waits count. Default ${DEFAULT_BUDGET.maxSeconds / 60} minutes`}
          min={1}
          max={MAX_BUDGET_SECONDS / UNIT_SECONDS[form.budgetUnit]}
          allowDecimal={false}
          allowNegative={false}
          clampBehavior="none"
          hideControls
          value={form.budgetTime}
          onChange={(value) => set("budgetTime", value)}
          error={problems.time}
          inputContainer={(input) => (
            <Group gap="xs" wrap="nowrap" align="center">
              <div style={{ width: 140 }}>{input}</div>
              <SegmentedControl
                aria-label="Run time unit"
                size="sm"
                data={["minutes", "seconds"]}
                value={form.budgetUnit}
                onChange={(value) => setForm((f) => withBudgetUnit(f, value as TimeUnit))}
              />
            </Group>
          )}
        />
      </Group>
    </Section>
  );
}
