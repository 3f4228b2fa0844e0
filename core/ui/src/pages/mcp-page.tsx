import { Badge, Button, Card, Group, Select, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { IconBrandDocker, IconLink, IconWorld } from "@tabler/icons-react";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { useFleetMcpServers, useMcpPresets } from "../api/mcp.ts";
import { usePermissions } from "../api/me.ts";
import { useNodes } from "../api/nodes.ts";
import { Empty } from "../components/empty-state.tsx";
import { type InstallTarget, McpInstallModal } from "../components/mcp-install-modal.tsx";
import { type McpServerRow, McpServersTable } from "../components/mcp-servers-table.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";

export default function McpPage() {
  const [params, setParams] = useSearchParams();
  const nodeFilter = params.get("node");
  const presets = useMcpPresets();
  const nodes = useNodes();
  const nodeList = nodes.data ?? [];
  const shownNodes = nodeFilter ? nodeList.filter((n) => n.id === nodeFilter) : nodeList;
  const servers = useFleetMcpServers(shownNodes);
  const [target, setTarget] = useState<InstallTarget | null>(null);
  const { isAdmin } = usePermissions();

  const rows: McpServerRow[] = shownNodes.flatMap((node, i) =>
    (servers[i]?.data ?? []).map((server) => ({ nodeId: node.id, nodeName: node.name, server })),
  );
  const failed = servers.map((q, i) => ({ q, node: shownNodes[i] })).filter(({ q }) => q.error);
  const loadingServers = servers.some((q) => q.isPending);

  return (
    <>
      <PageHeader
        title="MCP"
        description="Model Context Protocol servers give jobs more tools. Containers run on a Node, sandboxed, with only the paths you mount."
        actions={
          isAdmin && (
            <>
              <Button variant="default" leftSection={<IconLink size={16} />} onClick={() => setTarget({ kind: "url" })}>
                Register a URL
              </Button>
              <Button
                variant="default"
                leftSection={<IconBrandDocker size={16} />}
                onClick={() => setTarget({ kind: "image" })}
              >
                Custom image
              </Button>
            </>
          )
        }
      />
      <Stack gap="xl">
        <section aria-labelledby="marketplace-title">
          <Title order={3} id="marketplace-title" mb="sm">
            Marketplace
          </Title>
          <QueryState isPending={presets.isPending} error={presets.error} onRetry={() => presets.refetch()}>
            <SimpleGrid cols={{ base: 1, sm: 2, lg: 3, xl: 4 }}>
              {(presets.data ?? []).map((preset) => (
                <Card key={preset.id} withBorder padding="lg" display="flex" style={{ flexDirection: "column" }}>
                  <Group justify="space-between" mb={4} wrap="nowrap">
                    <Text fw={700}>{preset.name}</Text>
                    {preset.needsNetwork && (
                      <Badge variant="light" color="blue" leftSection={<IconWorld size={12} />}>
                        network
                      </Badge>
                    )}
                  </Group>
                  <Text size="xs" c="dimmed" ff="monospace" mb="xs" style={{ wordBreak: "break-all" }}>
                    {preset.image}
                  </Text>
                  <Text size="sm" style={{ flex: 1 }}>
                    {preset.description}
                  </Text>
                  {preset.settings && preset.settings.length > 0 && (
                    <Text size="xs" c="dimmed" mt="xs">
                      Needs: {preset.settings.map((s) => s.name).join(", ")}
                    </Text>
                  )}
                  {isAdmin && (
                    <Button
                      mt="md"
                      variant="light"
                      onClick={() => setTarget({ kind: "preset", preset })}
                      disabled={nodeList.length === 0}
                    >
                      Install on a Node
                    </Button>
                  )}
                </Card>
              ))}
            </SimpleGrid>
          </QueryState>
        </section>

        <section aria-labelledby="installed-title">
          <Group justify="space-between" mb="sm" align="flex-end">
            <Title order={3} id="installed-title">
              Installed servers
            </Title>
            <Select
              aria-label="Show servers of"
              placeholder="All Nodes"
              data={nodeList.map((n) => ({ value: n.id, label: n.name }))}
              value={nodeFilter}
              onChange={(value) => setParams(value ? { node: value } : {}, { replace: true })}
              clearable
              w={220}
            />
          </Group>
          {nodes.error ? <ErrorAlert error={nodes.error} title="Nodes could not be loaded" /> : null}
          {failed.map(({ q, node }) => (
            <ErrorAlert key={node?.id} error={q.error} title={`MCP servers of ${node?.name} could not be loaded`} />
          ))}
          {rows.length > 0 ? (
            <McpServersTable rows={rows} showNode={!nodeFilter} />
          ) : nodes.isPending || loadingServers ? (
            <Text size="sm" c="dimmed">
              Loading…
            </Text>
          ) : nodeList.length === 0 ? (
            <Empty title="No Nodes yet">Enroll a Node first; MCP servers run on Nodes.</Empty>
          ) : (
            <Empty title="No MCP servers installed">Pick one from the marketplace above.</Empty>
          )}
        </section>
      </Stack>
      <McpInstallModal target={target} nodes={nodeList} defaultNodeId={nodeFilter} onClose={() => setTarget(null)} />
    </>
  );
}
