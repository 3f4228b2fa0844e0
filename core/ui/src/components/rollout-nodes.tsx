import { Badge, Group, Paper, Stack, Table, Text } from "@mantine/core";
import type { Rollout, RolloutNode } from "../api/rollouts.ts";

/* The Nodes of a rollout (rollout-panel.tsx): a table by batch on a wide screen, one card per Node
 * on a phone (where four columns would scroll sideways). */

const NODE_COLOR: Record<RolloutNode["state"], string> = {
  pending: "gray",
  updating: "blue",
  updated: "green",
  refused: "red",
  rolled_back: "red",
  failed: "red",
  timeout: "red",
  offline_skipped: "yellow",
  cancelled: "gray",
};

const label = (state: string) => state.replace("_", " ");

/** The code when it says more than the state, then the reason. */
const why = (node: RolloutNode) =>
  `${node.code && node.code !== node.state ? `${node.code}: ` : ""}${node.reason ?? ""}`;

function StateBadge({ node }: { node: RolloutNode }) {
  return (
    <Badge color={NODE_COLOR[node.state]} variant="light" tt="none" style={{ minWidth: "max-content" }}>
      {label(node.state)}
    </Badge>
  );
}

interface NodesProps {
  rollout: Rollout;
  /** Running or paused: the current batch is highlighted. */
  active: boolean;
}

export function RolloutNodesTable({ rollout, active }: NodesProps) {
  const batches = [...new Set(rollout.nodes.map((n) => n.batch))];
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table verticalSpacing="xs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Batch</Table.Th>
            <Table.Th>Node</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Reason</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {batches.flatMap((batch) =>
            rollout.nodes
              .filter((n) => n.batch === batch)
              .map((node, i) => (
                <Table.Tr
                  key={node.nodeId}
                  bg={batch === rollout.currentBatch && active ? "var(--mantine-color-blue-light)" : undefined}
                >
                  <Table.Td>{i === 0 ? batch : ""}</Table.Td>
                  <Table.Td>
                    <Text size="sm" fw={500}>
                      {node.name}
                    </Text>
                    {node.fromVersion && (
                      <Text size="xs" c="dimmed" ff="monospace">
                        from v{node.fromVersion}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <StateBadge node={node} />
                  </Table.Td>
                  <Table.Td>
                    <Text size="sm">{why(node)}</Text>
                  </Table.Td>
                </Table.Tr>
              )),
          )}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** One card per Node: name and state on top, the versions, then the error or reason, wrapped. */
export function RolloutNodeCards({ rollout, active }: NodesProps) {
  return (
    <Stack component="ul" aria-label="Rollout Nodes" gap="xs" m={0} p={0} style={{ listStyle: "none" }}>
      {rollout.nodes.map((node) => (
        <Paper
          component="li"
          key={node.nodeId}
          aria-label={node.name}
          withBorder
          p="sm"
          bg={node.batch === rollout.currentBatch && active ? "var(--mantine-color-blue-light)" : undefined}
        >
          <Group justify="space-between" wrap="nowrap" gap="xs">
            <Text size="sm" fw={500} style={{ overflowWrap: "anywhere" }}>
              {node.name}
            </Text>
            <StateBadge node={node} />
          </Group>
          <Text size="xs" c="dimmed" ff="monospace">
            batch {node.batch} · {node.fromVersion ? `v${node.fromVersion} → ` : ""}v{rollout.version}
          </Text>
          {why(node) && (
            <Text
              size="sm"
              mt={4}
              c={NODE_COLOR[node.state] === "red" ? "red" : undefined}
              style={{ overflowWrap: "anywhere" }}
            >
              {why(node)}
            </Text>
          )}
        </Paper>
      ))}
    </Stack>
  );
}
