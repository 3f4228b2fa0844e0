import { Alert, List, Text } from "@mantine/core";
import { IconAlertTriangle, IconShieldCheck } from "@tabler/icons-react";
import type { NodeMcpPolicy } from "../api/mcp-ops.ts";
import type { FleetNode } from "../api/types.ts";
import type { InstallProblem } from "../lib/mcp-install-hints.ts";

export function policyOf(node: FleetNode | undefined): NodeMcpPolicy | undefined {
  return node?.capabilities?.mcpPolicy;
}

const code = (values: string[]) => values.join(", ");

/**
 * Before installing: what the chosen Node lets a managed MCP server do, from the flags it announced
 * (--mount-root, --allow-image, --allow-open-network …), and what of this request it would refuse.
 */
export function McpNodePolicy({
  node,
  container,
  problems,
}: {
  node: FleetNode | undefined;
  /** A container server (preset or image); a URL needs none of this. */
  container: boolean;
  problems: InstallProblem[];
}) {
  if (!node) return null;
  const policy = policyOf(node);
  if (!container) {
    return (
      <Text size="xs" c="dimmed">
        {node.name} dials only loopback URLs (an MCP server on its own host).
      </Text>
    );
  }
  if (!policy) {
    return (
      <Alert
        color="gray"
        variant="light"
        title={`${node.name} has not said what it allows`}
        data-testid="mcp-node-policy"
      >
        {node.status === "online"
          ? "This Node's version does not announce its MCP policy; it checks mounts and images itself when it gets the server."
          : "It is offline; it checks mounts and images itself when it gets the server."}
      </Alert>
    );
  }
  const docker = node.capabilities?.docker;
  const rows = [
    policy.mountRoots.length + policy.mountRwRoots.length === 0
      ? "Mounts: none allowed (start the Node with --mount-root DIR)"
      : `Mounts below ${code([...policy.mountRoots, ...policy.mountRwRoots])}, read-only${
          policy.mountRwRoots.length ? `; writable below ${code(policy.mountRwRoots)}` : " (no writable mounts)"
        }`,
    policy.allowImages.length === 0 ? "Images: any" : `Images: only ${code(policy.allowImages)}`,
    `Network: none, or an allow list${
      policy.allowEgress.length ? ` within ${code(policy.allowEgress)}` : ""
    }; open network ${policy.allowOpenNetwork ? "allowed" : "not allowed"}`,
    `Containers as root: ${policy.allowRoot ? "allowed" : "not allowed"}; exec_command on this Node: ${
      node.capabilities?.exec ? "allowed" : "off"
    }`,
  ];
  return (
    <Alert
      color={problems.length ? "red" : "teal"}
      variant="light"
      icon={problems.length ? <IconAlertTriangle size={18} /> : <IconShieldCheck size={18} />}
      title={`What ${node.name} allows`}
      data-testid="mcp-node-policy"
    >
      <List size="xs" spacing={2}>
        {rows.map((row) => (
          <List.Item key={row}>{row}</List.Item>
        ))}
        {docker === false ? (
          <List.Item c="red">Docker is not reachable on this Node: containers cannot start</List.Item>
        ) : null}
      </List>
      {problems.map((problem) => (
        <Text key={problem.message} size="sm" c="red" fw={600} mt={6} data-testid="mcp-install-problem">
          {problem.message}
        </Text>
      ))}
    </Alert>
  );
}
