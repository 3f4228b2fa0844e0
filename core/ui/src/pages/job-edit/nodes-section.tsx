import { MultiSelect } from "@mantine/core";
import { useMemo } from "react";
import type { FleetNode } from "../../api/types.ts";
import { type SectionProps, toolOptionsFor } from "./form-model.ts";
import { Section } from "./section.tsx";

export function NodesSection({ form, set, nodes, errors }: SectionProps & { nodes: FleetNode[] }) {
  const toolOptions = useMemo(() => toolOptionsFor(nodes, form.nodes, form.tools), [nodes, form.nodes, form.tools]);
  return (
    <Section title="Nodes and tools" description="Where the agent may act, and with which tools.">
      <MultiSelect
        label="Target Nodes"
        // A label selector (Fleet, below) may name the Nodes instead.
        required={form.selector.trim() === ""}
        placeholder={nodes.length ? "Pick Nodes" : "Enroll a Node first"}
        data={nodes.map((n) => ({
          value: n.id,
          label: `${n.name}${n.status === "online" ? "" : " (offline)"}`,
        }))}
        value={form.nodes}
        error={errors?.nodes}
        onChange={(value) => set("nodes", value)}
        searchable
        clearable
        nothingFoundMessage="No such Node"
      />
      <MultiSelect
        label="Allowed tools"
        description="Leave empty to allow every tool of the chosen Nodes"
        placeholder={form.nodes.length ? "All tools" : "Pick Nodes first"}
        data={toolOptions}
        value={form.tools}
        onChange={(value) => set("tools", value)}
        searchable
        clearable
        nothingFoundMessage="No such tool"
      />
    </Section>
  );
}
