import { Badge, Group, Text } from "@mantine/core";

export function Labels({ labels }: { labels: Record<string, string> | null | undefined }) {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0)
    return (
      <Text size="sm" c="dimmed" component="span">
        —
      </Text>
    );
  return (
    <Group gap={4}>
      {entries.map(([key, value]) => (
        <Badge key={key} variant="outline" color="gray" tt="none" fw={500}>
          {value ? `${key}=${value}` : key}
        </Badge>
      ))}
    </Group>
  );
}

/** "env=prod, role" → {env: "prod", role: ""}. */
export function parseLabels(items: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const [key, ...rest] = item.split("=");
    const k = key?.trim();
    if (k) labels[k] = rest.join("=").trim();
  }
  return labels;
}
