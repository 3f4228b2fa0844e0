import { Text, Tooltip } from "@mantine/core";
import { formatDateTime, fromNow } from "../lib/format.ts";

/** Relative time with the exact timestamp on hover/focus. */
export function TimeAgo({ iso, size = "sm" }: { iso: string | null | undefined; size?: string }) {
  if (!iso)
    return (
      <Text size={size} c="dimmed" component="span">
        never
      </Text>
    );
  return (
    <Tooltip label={formatDateTime(iso)} withArrow openDelay={300}>
      <Text size={size} component="time" dateTime={iso} tabIndex={0} style={{ whiteSpace: "nowrap" }}>
        {fromNow(iso)}
      </Text>
    </Tooltip>
  );
}
