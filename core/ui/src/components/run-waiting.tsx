import { Alert, Text } from "@mantine/core";
import { IconPlugConnectedX } from "@tabler/icons-react";
import type { Run } from "../api/types.ts";
import { TimeAgo } from "./time-ago.tsx";

/** A queued run of an "offlineNodes: wait" job whose Nodes are all offline (issue 22.1): which Nodes
 * it waits for and until when, so a run that sits in "queued" says why instead of looking stuck. */
export function WaitingForNodesAlert({ run }: { run: Run }) {
  const waiting = run.waiting;
  if (run.status !== "queued" || !waiting) return null;
  const names = waiting.nodes.length ? waiting.nodes.join(", ") : `${waiting.nodeIds.length} Node(s)`;
  return (
    <Alert color="yellow" variant="light" icon={<IconPlugConnectedX size={20} />} title={`Waiting for ${names}`}>
      <Text size="sm">
        Every target Node of this run is offline. It starts as soon as one connects; if none does by{" "}
        {new Date(waiting.until).toLocaleString()} it fails with nodes_offline. Waiting since{" "}
        <TimeAgo iso={waiting.since} />.
      </Text>
    </Alert>
  );
}
