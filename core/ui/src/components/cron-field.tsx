import { Group, List, Select, Stack, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { IconClock } from "@tabler/icons-react";
import { useMemo } from "react";
import { ApiError, errorMessage } from "../api/client.ts";
import { useCronPreview } from "../api/jobs.ts";
import { describeCron, timeZones } from "../lib/cron.ts";
import { formatShortDateTime, fromNow } from "../lib/format.ts";

/** Cron expression and time zone, with the Core's reading of it: a sentence and the next fires. */
export function CronField({
  cron,
  timezone,
  onChange,
}: {
  cron: string;
  timezone: string;
  onChange: (value: { cron: string; timezone: string }) => void;
}) {
  // Ask the Core only once typing pauses, not on every keystroke.
  const [debouncedCron] = useDebouncedValue(cron, 400);
  const preview = useCronPreview(debouncedCron, timezone);
  const zones = useMemo(() => timeZones(), []);
  // A Core without the preview route (404) still gets a local description; anything else is the
  // Core telling us the expression is wrong.
  const unsupported =
    preview.error instanceof ApiError && preview.error.status === 404 && preview.error.code !== "validation_failed";
  const invalid = preview.error && !unsupported ? errorMessage(preview.error) : null;

  return (
    <Stack gap="xs">
      <Group align="flex-start" gap="sm" wrap="wrap">
        <TextInput
          label="Cron expression"
          description="minute hour day-of-month month day-of-week"
          placeholder="0 8 * * *"
          required
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
          value={cron}
          onChange={(e) => onChange({ cron: e.currentTarget.value, timezone })}
          error={invalid}
          style={{ flex: "1 1 220px" }}
        />
        <Select
          label="Time zone"
          description="Fire times follow this zone's clock"
          data={zones}
          value={timezone}
          onChange={(tz) => onChange({ cron, timezone: tz ?? "UTC" })}
          searchable
          allowDeselect={false}
          limit={100}
          style={{ flex: "1 1 220px" }}
        />
      </Group>
      {cron.trim() && !invalid && (
        <Stack gap={4} aria-live="polite">
          <Group gap={6}>
            <IconClock size={16} aria-hidden />
            <Text size="sm" fw={500}>
              {unsupported || !preview.data ? describeCron(cron) : preview.data.description}
            </Text>
          </Group>
          {preview.data && !unsupported && preview.data.nextRuns.length > 0 && (
            <>
              <Text size="xs" c="dimmed">
                Next runs:
              </Text>
              <List size="sm" spacing={2}>
                {preview.data.nextRuns.slice(0, 5).map((at) => (
                  <List.Item key={at}>
                    {formatShortDateTime(at)}{" "}
                    <Text span size="xs" c="dimmed">
                      ({fromNow(at)})
                    </Text>
                  </List.Item>
                ))}
              </List>
            </>
          )}
        </Stack>
      )}
    </Stack>
  );
}
