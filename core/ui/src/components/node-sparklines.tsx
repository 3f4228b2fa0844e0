import { Card, SimpleGrid, Text } from "@mantine/core";
import { type NodeStatsPoint, useNodeStatsHistory } from "../api/nodes.ts";
import { sparklinePath } from "../lib/sparkline.ts";

const WIDTH = 240;
const HEIGHT = 40;
const DAY_MS = 24 * 3600 * 1000;

const SERIES = [
  { key: "cpuPercent", label: "CPU", unit: "%", max: 100, color: "var(--mantine-color-blue-6)" },
  { key: "memoryPercent", label: "Memory", unit: "%", max: 100, color: "var(--mantine-color-violet-6)" },
  { key: "diskPercent", label: "Fullest disk", unit: "%", max: 100, color: "var(--mantine-color-orange-6)" },
  { key: "load1", label: "Load (1 min)", unit: "", max: undefined, color: "var(--mantine-color-teal-6)" },
] as const;

/**
 * The Node's last 24 hours, a sparkline per figure (issue 22.5): means per 5-minute bucket from
 * its heartbeats, kept by the Core. A gap where the Node was away breaks the line.
 */
export function NodeSparklines({ nodeId }: { nodeId: string }) {
  const history = useNodeStatsHistory(nodeId);
  const points = history.data?.points ?? [];
  if (history.isPending) return null;
  if (points.length === 0)
    return (
      <Text size="sm" c="dimmed">
        No history yet: the Core keeps a point per 5 minutes from the Node's heartbeats, for 24 hours.
      </Text>
    );
  const to = Date.now();
  const gapMs = (history.data?.bucketSeconds ?? 300) * 1000 * 2.5;
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }} mt="sm">
      {SERIES.map((s) => (
        <Sparkline key={s.key} series={s} points={points} from={to - DAY_MS} to={to} gapMs={gapMs} />
      ))}
    </SimpleGrid>
  );
}

function Sparkline({
  series,
  points,
  from,
  to,
  gapMs,
}: {
  series: (typeof SERIES)[number];
  points: NodeStatsPoint[];
  from: number;
  to: number;
  gapMs: number;
}) {
  const values = points.map((p) => ({ t: Date.parse(p.at), v: p[series.key] }));
  const known = values.flatMap((p) => (p.v === null ? [] : [p.v]));
  const latest = known.at(-1);
  const peak = known.length ? Math.max(...known) : undefined;
  const fmt = (v: number | undefined) => (v === undefined ? "—" : `${v.toFixed(series.unit ? 0 : 2)}${series.unit}`);
  const d = sparklinePath(values, { width: WIDTH, height: HEIGHT, from, to, max: series.max, gapMs });
  const label = `${series.label} over the last 24 h: now ${fmt(latest)}, peak ${fmt(peak)}`;
  return (
    <Card withBorder padding="sm">
      <Text size="xs" c="dimmed" fw={600} tt="uppercase">
        {series.label} · 24 h
      </Text>
      <Text size="sm" fw={600}>
        {fmt(latest)}{" "}
        <Text span size="xs" c="dimmed" fw={400}>
          peak {fmt(peak)}
        </Text>
      </Text>
      <svg
        role="img"
        aria-label={label}
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        style={{ width: "100%", height: HEIGHT, display: "block" }}
      >
        <title>{label}</title>
        <path d={d} fill="none" stroke={series.color} strokeWidth={1.5} vectorEffect="non-scaling-stroke" />
      </svg>
    </Card>
  );
}
