import { Card, Group, Progress, SimpleGrid, Table, Text } from "@mantine/core";
import type { FleetNode } from "../api/types.ts";
import { formatBytes, formatUptime } from "../lib/format.ts";

function usageColor(percent: number): string {
  if (percent >= 90) return "red";
  if (percent >= 75) return "yellow";
  return "blue";
}

function Stat({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <Card withBorder padding="md">
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text fz="xl" fw={700} mt={4}>
        {value}
      </Text>
      {sub && (
        <Text size="xs" c="dimmed" mt={2}>
          {sub}
        </Text>
      )}
    </Card>
  );
}

/** Live system figures from the Node's heartbeats. */
export function NodeStats({ stats }: { stats: NonNullable<FleetNode["stats"]> }) {
  const memory = stats.memory;
  const memoryUsed = memory ? memory.totalBytes - (memory.availableBytes ?? memory.freeBytes) : null;
  const memoryPercent =
    memory && memoryUsed !== null && memory.totalBytes > 0 ? (memoryUsed / memory.totalBytes) * 100 : null;
  const cpu = stats.cpu;

  return (
    <>
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        <Stat
          label="CPU"
          value={cpu?.usagePercent !== undefined ? `${cpu.usagePercent.toFixed(0)} %` : `${cpu?.count ?? "—"} cores`}
          sub={cpu ? `${cpu.count} × ${cpu.model}` : undefined}
        />
        <Stat
          label="Load"
          value={stats.loadAverage ? stats.loadAverage.map((l) => l.toFixed(2)).join("  ") : "—"}
          sub="1, 5 and 15 min"
        />
        <Card withBorder padding="md">
          <Text size="xs" c="dimmed" fw={600} tt="uppercase">
            Memory
          </Text>
          <Text fz="xl" fw={700} mt={4}>
            {memoryPercent !== null ? `${memoryPercent.toFixed(0)} %` : "—"}
          </Text>
          {memory && memoryPercent !== null && (
            <>
              <Progress
                value={memoryPercent}
                color={usageColor(memoryPercent)}
                mt={6}
                aria-label={`Memory ${memoryPercent.toFixed(0)} percent used`}
              />
              <Text size="xs" c="dimmed" mt={4}>
                {formatBytes(memoryUsed)} of {formatBytes(memory.totalBytes)}
              </Text>
            </>
          )}
        </Card>
        <Stat label="Uptime" value={formatUptime(stats.uptimeSeconds)} sub={stats.hostname} />
      </SimpleGrid>
      {stats.disks && stats.disks.length > 0 && (
        <Table.ScrollContainer minWidth={560} mt="md">
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Mount</Table.Th>
                <Table.Th>Device</Table.Th>
                <Table.Th>Used</Table.Th>
                <Table.Th>Size</Table.Th>
                <Table.Th>Available</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {stats.disks.map((disk) => (
                <Table.Tr key={disk.mount}>
                  <Table.Td ff="monospace">{disk.mount}</Table.Td>
                  <Table.Td>
                    <Text size="sm" c="dimmed">
                      {disk.device} {disk.fsType && `(${disk.fsType})`}
                    </Text>
                  </Table.Td>
                  <Table.Td miw={160}>
                    <Group gap="xs" wrap="nowrap">
                      <Progress
                        value={disk.usedPercent}
                        color={usageColor(disk.usedPercent)}
                        style={{ flex: 1 }}
                        aria-label={`${disk.mount} ${disk.usedPercent.toFixed(0)} percent used`}
                      />
                      <Text size="sm" w={44} ta="right">
                        {disk.usedPercent.toFixed(0)} %
                      </Text>
                    </Group>
                  </Table.Td>
                  <Table.Td>{formatBytes(disk.sizeBytes)}</Table.Td>
                  <Table.Td>{formatBytes(disk.availableBytes)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </>
  );
}
