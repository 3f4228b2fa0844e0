import { Badge, Code, Table, Text } from "@mantine/core";
import { tableColumns } from "../lib/json-shape.ts";

/** A JSON value as people read it: an object as a two-column table, an array of objects as a
 * table with a column per key (a fleet result: one row per Node), scalars as themselves. */
export function JsonView({ value, depth = 0 }: { value: unknown; depth?: number }) {
  if (value === null) return <Text c="dimmed">null</Text>;
  if (typeof value === "boolean")
    return (
      <Badge color={value ? "green" : "red"} variant="light">
        {String(value)}
      </Badge>
    );
  if (typeof value !== "object") return <Text size="sm">{String(value)}</Text>;
  // Deeper than this reads better as JSON than as tables in tables.
  if (depth >= 3) return <Code>{JSON.stringify(value)}</Code>;
  if (Array.isArray(value)) {
    const columns = tableColumns(value);
    if (columns)
      return (
        <Table.ScrollContainer minWidth={400}>
          <Table withTableBorder withColumnBorders verticalSpacing={4}>
            <Table.Thead>
              <Table.Tr>
                {columns.map((c) => (
                  <Table.Th key={c}>{c}</Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {value.map((row, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: rows of a stored result never move
                <Table.Tr key={i}>
                  {columns.map((c) => (
                    <Table.Td key={c}>
                      <JsonView value={(row as Record<string, unknown>)[c]} depth={depth + 1} />
                    </Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      );
    if (value.length === 0) return <Text c="dimmed">(empty list)</Text>;
    return (
      <ul style={{ margin: 0, paddingLeft: 18 }}>
        {value.map((item, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: items of a stored result never move
          <li key={i}>
            <JsonView value={item} depth={depth + 1} />
          </li>
        ))}
      </ul>
    );
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return <Text c="dimmed">(empty object)</Text>;
  return (
    <Table withTableBorder verticalSpacing={4}>
      <Table.Tbody>
        {entries.map(([key, v]) => (
          <Table.Tr key={key}>
            <Table.Th w={1} style={{ whiteSpace: "nowrap", verticalAlign: "top" }}>
              {key}
            </Table.Th>
            <Table.Td>
              <JsonView value={v} depth={depth + 1} />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
