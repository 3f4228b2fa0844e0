import { MultiSelect, NumberInput, SegmentedControl, Stack, Text } from "@mantine/core";
import { useMemo } from "react";
import type { FleetNode } from "../../api/types.ts";
import { MAX_WAIT_FOR_NODES_SECONDS, type SectionProps, toolOptionsFor, waitForNodesError } from "./form-model.ts";
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
      <Stack gap={4}>
        <Text size="sm" fw={500} id="offline-nodes-label">
          When every target Node is offline
        </Text>
        <SegmentedControl
          aria-labelledby="offline-nodes-label"
          data={[
            { value: "fail", label: "Fail the run" },
            { value: "wait", label: "Wait for a Node" },
          ]}
          value={form.offlineNodes}
          onChange={(value) => set("offlineNodes", value === "wait" ? "wait" : "fail")}
          w="fit-content"
        />
        <Text size="xs" c="dimmed">
          {form.offlineNodes === "wait"
            ? "The run stays queued and starts as soon as one of its Nodes connects; after the wait it fails with nodes_offline."
            : "A run whose Nodes are all offline fails at once with nodes_offline, so the agent never answers without tools."}
        </Text>
      </Stack>
      {form.offlineNodes === "wait" && (
        <NumberInput
          label="Wait up to (seconds)"
          description="Default 600 (10 minutes), at most 604800 (7 days)"
          min={1}
          max={MAX_WAIT_FOR_NODES_SECONDS}
          value={form.waitForNodesSeconds}
          error={waitForNodesError(form) ?? errors?.waitForNodesSeconds}
          onChange={(value) => set("waitForNodesSeconds", value)}
          w={240}
        />
      )}
    </Section>
  );
}
