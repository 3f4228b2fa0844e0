import { Badge, Box, Button, Group, Modal, ScrollArea, SegmentedControl, Stack, Text } from "@mantine/core";
import { IconRefresh } from "@tabler/icons-react";
import { useEffect, useRef, useState } from "react";
import { type McpLogLine, useMcpLogs } from "../api/mcp-ops.ts";
import { ErrorAlert } from "./query-state.tsx";

const TAILS = ["100", "200", "500", "1000"];

function lineColor(line: McpLogLine): string | undefined {
  if (line.stream === "node") return "var(--mantine-color-blue-4)";
  return /error|fatal|refused|denied|cannot|failed/i.test(line.text) ? "var(--mantine-color-red-4)" : undefined;
}

/** Local time of day for a line, or nothing when the line has no time. */
function clock(at: string | undefined): string {
  if (!at) return "";
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString([], { hour12: false });
}

/**
 * The last lines one MCP server wrote, read from its Node when opened and on Refresh: its
 * container's stderr while one runs, otherwise what the Node kept of its attempts (with the Node's
 * own lines in blue). Secrets arrive redacted by the Core.
 */
export function McpLogsModal({
  target,
  onClose,
}: {
  target: { nodeId: string; nodeName: string; name: string } | null;
  onClose: () => void;
}) {
  const [tail, setTail] = useState("200");
  const logs = useMcpLogs(target?.nodeId ?? "", target?.name ?? "", Number(tail), target !== null);
  const viewport = useRef<HTMLDivElement>(null);
  const lines = logs.data?.lines ?? [];

  // The newest line is what an operator came for: keep the view at the bottom after each read.
  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll when a new read arrives
  useEffect(() => {
    viewport.current?.scrollTo({ top: viewport.current.scrollHeight });
  }, [logs.dataUpdatedAt]);

  return (
    <Modal
      opened={target !== null}
      onClose={onClose}
      title={target ? `Logs of ${target.name} on ${target.nodeName}` : "Logs"}
      size="xl"
    >
      <Stack gap="sm">
        <Group justify="space-between" wrap="wrap" gap="xs">
          <Group gap="xs">
            {logs.data ? (
              <Badge variant="light" color={logs.data.source === "container" ? "blue" : "gray"} tt="none">
                {logs.data.source === "container"
                  ? `container ${logs.data.containerId?.slice(0, 12) ?? ""} (stderr)`
                  : "kept by the Node (recent attempts)"}
              </Badge>
            ) : null}
            {logs.data?.truncated ? (
              <Text size="xs" c="dimmed">
                older lines left out
              </Text>
            ) : null}
          </Group>
          <Group gap="xs">
            <SegmentedControl size="xs" data={TAILS} value={tail} onChange={setTail} aria-label="Lines to show" />
            <Button
              size="xs"
              variant="light"
              leftSection={<IconRefresh size={14} />}
              loading={logs.isFetching}
              onClick={() => void logs.refetch()}
            >
              Refresh
            </Button>
          </Group>
        </Group>
        {logs.error ? <ErrorAlert error={logs.error} title="The logs could not be read" /> : null}
        <ScrollArea.Autosize mah="60vh" viewportRef={viewport} type="auto">
          <Box
            component="pre"
            data-testid="mcp-logs"
            m={0}
            p="sm"
            fz="xs"
            ff="monospace"
            bg="dark.8"
            c="gray.3"
            style={{ whiteSpace: "pre-wrap", wordBreak: "break-word", borderRadius: 4, minHeight: 120 }}
          >
            {lines.length === 0 && !logs.isPending ? (
              <Text span c="dimmed" fz="xs">
                Nothing written yet.
              </Text>
            ) : (
              lines.map((line, index) => (
                // Lines have no identity but their position in this read.
                // biome-ignore lint/suspicious/noArrayIndexKey: see above
                <div key={index} style={{ color: lineColor(line) }}>
                  <span style={{ opacity: 0.55 }}>{clock(line.at).padEnd(9)}</span>
                  {line.stream === "node" ? "[node] " : ""}
                  {line.text}
                </div>
              ))
            )}
          </Box>
        </ScrollArea.Autosize>
      </Stack>
    </Modal>
  );
}
