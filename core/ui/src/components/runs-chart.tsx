import { Card, Group, SegmentedControl, Stack, Text, Tooltip } from "@mantine/core";
import { useState } from "react";
import { Link } from "react-router";
import { type RunDay, useRunStats } from "../api/runs.ts";
import { formatDuration, formatNumber } from "../lib/format.ts";
import { describeRunDay, summarizeRunDays } from "../lib/run-stats.ts";
import { ErrorAlert } from "./query-state.tsx";

/** Stacked from the bottom: what ended well first, then failures, then the rest. */
const SEGMENTS = [
  { key: "succeeded", color: "var(--mantine-color-green-6)" },
  { key: "failed", color: "var(--mantine-color-red-6)" },
  { key: "cancelled", color: "var(--mantine-color-gray-5)" },
  { key: "other", color: "var(--mantine-color-blue-5)" },
] as const;

const HEIGHT = 120;

/**
 * The dashboard's runs over time (issue 22.4): a bar per UTC day stacked by outcome, each a link
 * to that day's runs, and the window's success rate, mean duration and tokens. Counted by the Core
 * (GET /api/runs/stats), so it is right however many runs there were.
 */
export function RunsChart() {
  const [days, setDays] = useState("14");
  const stats = useRunStats(Number(days), { refetchInterval: 60_000 });
  const data = stats.data ?? [];
  const max = Math.max(1, ...data.map((d) => d.total));
  const window = summarizeRunDays(data);

  return (
    <Card withBorder padding="lg">
      <Group justify="space-between" mb="sm">
        <Text size="sm" c="dimmed" fw={600}>
          Runs per day (UTC)
        </Text>
        <SegmentedControl
          size="xs"
          value={days}
          onChange={setDays}
          data={[
            { value: "7", label: "7 days" },
            { value: "14", label: "14 days" },
            { value: "30", label: "30 days" },
          ]}
          aria-label="Chart window"
        />
      </Group>
      {stats.error ? <ErrorAlert error={stats.error} title="Run statistics could not be loaded" /> : null}
      <Stack gap="xs">
        <ol
          aria-label="Runs per day"
          style={{ display: "flex", alignItems: "flex-end", gap: 3, height: HEIGHT, margin: 0, padding: 0 }}
        >
          {data.map((d) => (
            <DayBar key={d.day} day={d} max={max} />
          ))}
        </ol>
        <Group justify="space-between">
          <Text size="xs" c="dimmed">
            {data[0]?.day ?? ""}
          </Text>
          <Text size="xs" c="dimmed">
            {data.at(-1)?.day ?? ""}
          </Text>
        </Group>
        <Group gap="lg" data-testid="runs-chart-summary">
          <Text size="sm">
            <b>{formatNumber(window.total)}</b> run{window.total === 1 ? "" : "s"}
          </Text>
          <Text size="sm">
            success rate <b>{window.successRate === null ? "—" : `${window.successRate}%`}</b>
          </Text>
          <Text size="sm">
            mean duration <b>{window.avgDurationMs === null ? "—" : formatDuration(window.avgDurationMs)}</b>
          </Text>
          <Text size="sm">
            <b>{formatNumber(window.tokens)}</b> tokens
          </Text>
        </Group>
      </Stack>
    </Card>
  );
}

function DayBar({ day, max }: { day: RunDay; max: number }) {
  const label = describeRunDay(day);
  return (
    <li aria-label={label} style={{ flex: 1, height: "100%", listStyle: "none", minWidth: 4 }}>
      <Tooltip label={label} withArrow>
        <Link
          aria-label={`Runs of ${day.day}`}
          to={`/runs?from=${day.day}&to=${day.day}`}
          style={{ height: "100%", display: "flex", flexDirection: "column-reverse" }}
        >
          {SEGMENTS.map((s) =>
            day[s.key] > 0 ? (
              <div
                key={s.key}
                style={{ height: `${(day[s.key] / max) * 100}%`, background: s.color, borderRadius: 2 }}
              />
            ) : null,
          )}
          {day.total === 0 ? <div style={{ height: 2, background: "var(--mantine-color-gray-3)" }} /> : null}
        </Link>
      </Tooltip>
    </li>
  );
}
