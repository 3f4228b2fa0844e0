import { Group, Text } from "@mantine/core";
import { IconCheck, IconX } from "@tabler/icons-react";

/** What a connection test found: the models (a few named) or why it failed. */
export type ConnectionResult = { ok: true; count: number; ids: string[] } | { ok: false; message: string };

export function ProviderTestResult({ result }: { result: ConnectionResult }) {
  if (!result.ok)
    return (
      <Group gap={6} wrap="nowrap" align="flex-start" data-testid="provider-test-result" data-ok="false">
        <IconX size={16} color="var(--mantine-color-red-6)" aria-hidden />
        <Text size="sm" c="red" className="fc-pre">
          {result.message}
        </Text>
      </Group>
    );
  return (
    <Group gap={6} wrap="nowrap" align="flex-start" data-testid="provider-test-result" data-ok="true">
      <IconCheck size={16} color="var(--mantine-color-green-6)" aria-hidden />
      <Text size="sm">
        Connected — {result.count} model{result.count === 1 ? "" : "s"}
        {result.ids.length > 0 && (
          <Text span size="xs" c="dimmed" display="block">
            {result.ids.slice(0, 5).join(", ")}
            {result.count > 5 ? ", …" : ""}
          </Text>
        )}
      </Text>
    </Group>
  );
}
