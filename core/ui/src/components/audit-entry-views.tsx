import { Anchor, Badge, Card, Group, Stack, Table, Text } from "@mantine/core";
import { Fragment } from "react";
import { Link } from "react-router";
import type { AuditEntryView } from "../api/types.ts";
import { auditSentence, detailPairs, sentenceText } from "../lib/audit-sentence.ts";
import { TimeAgo } from "./time-ago.tsx";

/* The audit log two ways (issue 22.7): a table of sentences on a wide screen, one card per entry
 * on a phone. Names link to their pages where they still exist; details read as key/value text. */

const OUTCOME_COLORS: Record<string, string> = { ok: "green", failed: "red", denied: "orange" };

export function AuditSentence({ entry }: { entry: AuditEntryView }) {
  const parts = auditSentence(entry);
  return (
    <Text size="sm" data-testid="audit-sentence" title={`${entry.action}${entry.target ? ` ${entry.target}` : ""}`}>
      {parts.map((part, i) =>
        part.to ? (
          // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one sentence never reorder
          <Anchor key={i} component={Link} to={part.to} fw={500} data-kind={part.kind}>
            {part.text}
          </Anchor>
        ) : (
          // biome-ignore lint/suspicious/noArrayIndexKey: see above
          <Fragment key={i}>{part.text}</Fragment>
        ),
      )}
    </Text>
  );
}

function Outcome({ outcome }: { outcome: string }) {
  return (
    <Badge variant="light" color={OUTCOME_COLORS[outcome] ?? "gray"} style={{ flexShrink: 0 }}>
      {outcome}
    </Badge>
  );
}

export function AuditDetails({ entry }: { entry: AuditEntryView }) {
  const pairs = detailPairs(entry.detail, 200, new Set((entry.links ?? []).map((l) => l.id)));
  if (pairs.length === 0)
    return (
      <Text size="xs" c="dimmed">
        —
      </Text>
    );
  return (
    <Stack gap={0} data-testid="audit-details">
      {pairs.map(([key, value]) => (
        <Text key={key} size="xs" lineClamp={2} style={{ wordBreak: "break-word" }}>
          <Text span size="xs" c="dimmed">
            {key}:
          </Text>{" "}
          {value}
        </Text>
      ))}
    </Stack>
  );
}

export function AuditTableView({ entries }: { entries: AuditEntryView[] }) {
  return (
    <Table.ScrollContainer minWidth={860}>
      <Table verticalSpacing="xs" striped aria-label="Audit log entries" data-testid="audit-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>What happened</Table.Th>
            <Table.Th>Outcome</Table.Th>
            <Table.Th>Details</Table.Th>
            <Table.Th>IP</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {entries.map((entry) => (
            <Table.Tr key={entry.id} data-action={entry.action}>
              <Table.Td className="fc-nowrap">
                <TimeAgo iso={entry.at} />
              </Table.Td>
              <Table.Td maw={420}>
                <AuditSentence entry={entry} />
                <Text size="xs" c="dimmed" ff="monospace">
                  {entry.action}
                </Text>
              </Table.Td>
              <Table.Td>
                <Outcome outcome={entry.outcome} />
              </Table.Td>
              <Table.Td maw={360}>
                <AuditDetails entry={entry} />
              </Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {entry.ip ?? "—"}
                </Text>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function AuditCards({ entries }: { entries: AuditEntryView[] }) {
  return (
    <Stack gap="sm" data-testid="audit-cards">
      {entries.map((entry) => (
        <Card
          key={entry.id}
          withBorder
          padding="sm"
          aria-label={sentenceText(auditSentence(entry))}
          data-action={entry.action}
        >
          <Group justify="space-between" wrap="nowrap" gap="xs" align="flex-start">
            <AuditSentence entry={entry} />
            <Outcome outcome={entry.outcome} />
          </Group>
          <Group gap={6} mt={4}>
            <TimeAgo iso={entry.at} size="xs" />
            <Text size="xs" c="dimmed" ff="monospace">
              {entry.action}
              {entry.ip ? ` · ${entry.ip}` : ""}
            </Text>
          </Group>
          <Stack mt={4} gap={0}>
            <AuditDetails entry={entry} />
          </Stack>
        </Card>
      ))}
    </Stack>
  );
}
