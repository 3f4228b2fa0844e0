import { Group, MultiSelect, NumberInput, Radio } from "@mantine/core";
import { useMemo } from "react";
import type { FleetNode } from "../../api/types.ts";
import { type ApprovalMode, approvalToolOptionsFor, type SectionProps } from "./form-model.ts";
import { Section } from "./section.tsx";

/** `error` is the page's submit-time check (tools mode with no tool); any change here clears it. */
export function ApprovalSection({
  form,
  set,
  nodes,
  error,
  clearError,
}: SectionProps & { nodes: FleetNode[]; error: string | null; clearError: () => void }) {
  const options = useMemo(
    () => approvalToolOptionsFor(nodes, form.nodes, form.approvalTools),
    [nodes, form.nodes, form.approvalTools],
  );
  return (
    <Section
      title="Approval"
      description="Hold tool calls until an operator approves them on the run's page. A denied or expired call is not run; the model is told why."
    >
      <Radio.Group
        label="Tool calls that need approval"
        value={form.approvalMode}
        onChange={(value) => {
          clearError();
          set("approvalMode", value as ApprovalMode);
        }}
      >
        <Group mt="xs" gap="lg">
          <Radio value="none" label="None" />
          <Radio value="all" label="Every tool call" />
          <Radio value="tools" label="Only these tools" />
        </Group>
      </Radio.Group>
      {form.approvalMode === "tools" && (
        <MultiSelect
          label="Tools that need approval"
          placeholder={form.nodes.length ? "Pick tools" : "Pick Nodes first"}
          data={options}
          value={form.approvalTools}
          onChange={(value) => {
            clearError();
            set("approvalTools", value);
          }}
          error={error}
          searchable
          clearable
          nothingFoundMessage="No such tool"
        />
      )}
      {form.approvalMode !== "none" && (
        <NumberInput
          label="Decide within (minutes)"
          description="No decision by then: the call fails and the run goes on without it"
          min={1}
          max={7 * 24 * 60}
          decimalScale={2}
          value={Math.round((form.approvalTimeoutSeconds / 60) * 100) / 100}
          onChange={(value) => {
            const minutes = typeof value === "number" ? value : Number(value);
            set("approvalTimeoutSeconds", Math.max(1, Math.round((minutes || 60) * 60)));
          }}
          w={240}
        />
      )}
    </Section>
  );
}
