import {
  Button,
  Group,
  Modal,
  MultiSelect,
  NumberInput,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
} from "@mantine/core";
import { type FormEvent, useEffect, useState } from "react";
import { errorMessage } from "../api/client.ts";
import { useNodesMatching } from "../api/nodes.ts";
import { useStartRollout } from "../api/rollouts.ts";
import type { FleetNode } from "../api/types.ts";
import { ErrorAlert } from "./query-state.tsx";

/* Issue 18: update chosen Nodes, or those a label selector matches, to the version this Core serves,
 * N at a time (POST /api/nodes/update). The rollout panel then follows it. */

export function UpdateNodesModal({
  nodes,
  opened,
  onClose,
}: {
  nodes: FleetNode[];
  opened: boolean;
  onClose: () => void;
}) {
  const start = useStartRollout();
  const [mode, setMode] = useState<"nodes" | "selector">("nodes");
  const [chosen, setChosen] = useState<string[]>([]);
  const [selector, setSelector] = useState("");
  const [batchSize, setBatchSize] = useState<number>(1);
  const [maxFailures, setMaxFailures] = useState<number>(0);
  const matching = useNodesMatching(mode === "selector" ? selector : "");
  const served = nodes.find((n) => n.servedVersion)?.servedVersion;

  // biome-ignore lint/correctness/useExhaustiveDependencies: start fresh each time the dialog opens
  useEffect(() => {
    if (!opened) return;
    start.reset();
    // The Nodes behind the served version are the usual choice.
    setChosen(nodes.filter((n) => n.updateAvailable).map((n) => n.id));
  }, [opened]);

  const count = mode === "nodes" ? chosen.length : (matching.data?.length ?? 0);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const body =
      mode === "nodes"
        ? { nodeIds: chosen, batchSize, maxFailures }
        : { selector: selector.trim(), batchSize, maxFailures };
    start.mutate(body, { onSuccess: onClose });
  };

  return (
    <Modal opened={opened} onClose={onClose} title="Update Nodes" centered size="lg">
      <form onSubmit={submit}>
        <Stack>
          <Text size="sm">
            {served ? (
              <>
                Moves the Nodes to <b>v{served}</b>, the version this Core serves, a batch at a time. Only Nodes started
                with <code>--auto-update</code> update themselves; the next batch starts once each Node of the batch is
                back on the new version, and a failed one pauses the rollout.
              </>
            ) : (
              "This Core serves no Node version."
            )}
          </Text>
          <SegmentedControl
            value={mode}
            onChange={(v) => setMode(v as "nodes" | "selector")}
            data={[
              { value: "nodes", label: "Chosen Nodes" },
              { value: "selector", label: "Label selector" },
            ]}
          />
          {mode === "nodes" ? (
            <MultiSelect
              label="Nodes"
              data={nodes.map((n) => ({ value: n.id, label: `${n.name} (v${n.version ?? "?"})` }))}
              value={chosen}
              onChange={setChosen}
              searchable
              clearable
            />
          ) : (
            <TextInput
              label="Selector"
              description="e.g. env=prod,role in (web,api)"
              value={selector}
              onChange={(e) => setSelector(e.currentTarget.value)}
              error={matching.error ? errorMessage(matching.error) : null}
            />
          )}
          <Group grow>
            <NumberInput
              label="Batch size"
              description="Nodes updated at a time"
              min={1}
              max={10_000}
              value={batchSize}
              onChange={(v) => setBatchSize(typeof v === "number" ? v : 1)}
            />
            <NumberInput
              label="Failures allowed per batch"
              description="More pause the rollout"
              min={0}
              max={10_000}
              value={maxFailures}
              onChange={(v) => setMaxFailures(typeof v === "number" ? v : 0)}
            />
          </Group>
          <Text size="sm" c="dimmed">
            {count} Node{count === 1 ? "" : "s"}, {count ? Math.ceil(count / Math.max(batchSize, 1)) : 0} batch
            {Math.ceil(count / Math.max(batchSize, 1)) === 1 ? "" : "es"}
          </Text>
          {start.error ? <ErrorAlert error={start.error} title="Not started" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={start.isPending} disabled={!served || count === 0}>
              Start rollout
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
