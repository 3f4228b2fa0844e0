import { Alert, Anchor, Group, Table, Text } from "@mantine/core";
import { IconPlugConnectedX } from "@tabler/icons-react";
import { Link } from "react-router";
import { useNodes, useNodesMatching } from "../../api/nodes.ts";
import type { FleetNode, Job } from "../../api/types.ts";
import { NodeStatusBadge } from "../../components/status-badge.tsx";
import { TimeAgo } from "../../components/time-ago.tsx";
import { Section } from "./section.tsx";

/* Issue 22.1: the saved job's target Nodes and whether each is online now, so an operator sees
 * before pressing Run now that a run would find no server (the Core fails it with nodes_offline). */

export interface JobTargets {
  nodes: FleetNode[];
  /** Named Nodes that no longer exist (revoked since the job was saved). */
  missing: string[];
  offline: FleetNode[];
  allOffline: boolean;
  loading: boolean;
}

/** The job's named Nodes, then those its selector matches now, each once (as the Core resolves them). */
export function useJobTargets(job: Job | undefined): JobTargets {
  const all = useNodes();
  const matching = useNodesMatching(job?.selector ?? "");
  const byId = new Map((all.data ?? []).map((n) => [n.id, n]));
  const out: FleetNode[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const id of job?.nodes ?? []) {
    const node = byId.get(id);
    if (!node) missing.push(id);
    else if (!seen.has(id)) {
      out.push(node);
      seen.add(id);
    }
  }
  for (const node of job?.selector ? (matching.data ?? []) : []) {
    if (seen.has(node.id)) continue;
    out.push(byId.get(node.id) ?? node);
    seen.add(node.id);
  }
  const offline = out.filter((n) => n.status !== "online");
  return {
    nodes: out,
    missing,
    offline,
    allOffline: out.length > 0 && offline.length === out.length,
    loading: all.isPending || (Boolean(job?.selector) && matching.isPending),
  };
}

export function TargetNodes({ targets }: { targets: JobTargets }) {
  if (targets.loading) return null;
  return (
    <Section title="Target Nodes" description="Where the next run works, and whether each server is connected now.">
      {targets.allOffline ? (
        <Alert color="red" variant="light" icon={<IconPlugConnectedX size={18} />} data-testid="targets-offline">
          Every target Node is offline: a run now fails with “nodes offline” instead of reporting without tools.
        </Alert>
      ) : targets.offline.length > 0 ? (
        <Alert color="yellow" variant="light" icon={<IconPlugConnectedX size={18} />} data-testid="targets-offline">
          {targets.offline.map((n) => n.name).join(", ")} {targets.offline.length === 1 ? "is" : "are"} offline: a run
          now works without {targets.offline.length === 1 ? "its" : "their"} tools.
        </Alert>
      ) : null}
      {targets.nodes.length === 0 ? (
        <Text size="sm" c="dimmed">
          No Node matches now: a run fails with “nothing to run on”.
        </Text>
      ) : (
        <Table.ScrollContainer minWidth={320}>
          <Table data-testid="target-nodes">
            <Table.Tbody>
              {targets.nodes.map((node) => (
                <Table.Tr key={node.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/nodes/${node.id}`} fw={600} size="sm">
                      {node.name}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <NodeStatusBadge status={node.status} lastSeenAt={node.lastSeenAt} />
                  </Table.Td>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      <Text size="xs" c="dimmed">
                        last seen
                      </Text>
                      {node.status === "online" ? (
                        <Text size="xs">now</Text>
                      ) : (
                        <TimeAgo iso={node.lastSeenAt} size="xs" />
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {targets.missing.length > 0 ? (
        <Text size="xs" c="dimmed">
          {targets.missing.length} named Node{targets.missing.length === 1 ? " was" : "s were"} revoked since the job
          was saved.
        </Text>
      ) : null}
    </Section>
  );
}
