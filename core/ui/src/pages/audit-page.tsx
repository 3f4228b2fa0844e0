import { Autocomplete, Badge, Group, Pagination, Select, Table, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { useAudit } from "../api/admin.ts";
import { usePermissions } from "../api/me.ts";
import type { AuditEntry } from "../api/types.ts";
import { AdminOnly } from "../components/admin-only.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";
import { TimeAgo } from "../components/time-ago.tsx";

/** Actions the Core records (the filter matches one exactly; others can be typed). */
const ACTIONS = [
  "auth.login",
  "auth.login_failed",
  "token.create",
  "token.revoke",
  "token.use",
  "user.create",
  "user.update",
  "user.delete",
  "node.enroll",
  "node.revoke",
  "mcp.add",
  "mcp.remove",
  "provider.create",
  "provider.update",
  "provider.delete",
  "secret.create",
  "secret.update",
  "secret.delete",
  "job.create",
  "job.update",
  "job.delete",
  "run.start",
  "run.cancel",
  "run.approve",
  "run.deny",
  "tool.call",
  "webhook.reject",
];

const SINCE = [
  { value: "1h", label: "Last hour", ms: 3600_000 },
  { value: "24h", label: "Last 24 hours", ms: 24 * 3600_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 24 * 3600_000 },
  { value: "30d", label: "Last 30 days", ms: 30 * 24 * 3600_000 },
];
const PAGE_SIZE = 25;
/** The Core's cap on one answer; paging through it happens here. */
const FETCH_LIMIT = 1000;

const OUTCOME_COLORS: Record<string, string> = { ok: "green", failed: "red", denied: "orange" };

function detailText(detail: AuditEntry["detail"]): string {
  if (!detail || Object.keys(detail).length === 0) return "";
  return JSON.stringify(detail);
}

function AuditTable() {
  // Filters live in the URL, so a filtered view can be linked to and survives a reload.
  const [params, setParams] = useSearchParams();
  const [actionInput, setActionInput] = useState(params.get("action") ?? "");
  const [actorInput, setActorInput] = useState(params.get("actor") ?? "");
  const [action] = useDebouncedValue(actionInput.trim(), 300);
  const [actor] = useDebouncedValue(actorInput.trim(), 300);
  const sinceKey = params.get("since");
  const [page, setPage] = useState(1);

  // "since" is fixed when the filter is chosen, not recomputed on every render (that would refetch).
  const since = useMemo(() => {
    const preset = SINCE.find((s) => s.value === sinceKey);
    return preset ? new Date(Date.now() - preset.ms).toISOString() : undefined;
  }, [sinceKey]);

  const audit = useAudit({
    ...(action ? { action } : {}),
    ...(actor ? { actor } : {}),
    ...(since ? { since } : {}),
    limit: FETCH_LIMIT,
  });
  const entries = audit.data ?? [];
  const pages = Math.max(1, Math.ceil(entries.length / PAGE_SIZE));
  const current = Math.min(page, pages);
  const shown = entries.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);

  const setParam = (key: string, value: string | null) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
    setPage(1);
  };

  return (
    <>
      <PageHeader
        title="Audit log"
        description="Who did what, from where, newest first: sign-ins, changes, runs, approvals and tool calls."
      />
      <Group mb="md" align="flex-end" gap="sm" wrap="wrap">
        <Autocomplete
          label="Action"
          placeholder="Any action"
          data={ACTIONS}
          value={actionInput}
          onChange={(value) => {
            setActionInput(value);
            setParam("action", value.trim() || null);
          }}
          clearable
          limit={30}
          w={{ base: "100%", xs: 220 }}
        />
        <TextInput
          label="Actor"
          placeholder="Any user"
          value={actorInput}
          onChange={(e) => {
            const value = e.currentTarget.value;
            setActorInput(value);
            setParam("actor", value.trim() || null);
          }}
          w={{ base: "100%", xs: 200 }}
        />
        <Select
          label="Since"
          placeholder="Any time"
          data={SINCE.map(({ value, label }) => ({ value, label }))}
          value={sinceKey}
          onChange={(value) => setParam("since", value)}
          clearable
          w={{ base: "100%", xs: 180 }}
        />
      </Group>
      <QueryState isPending={audit.isPending} error={audit.error} onRetry={() => audit.refetch()}>
        {entries.length === 0 ? (
          <Empty title="No entries match">
            {action || actor || since ? "Try clearing the filters; action and actor match exactly." : null}
          </Empty>
        ) : (
          <>
            <Table.ScrollContainer minWidth={860}>
              <Table verticalSpacing="xs" striped aria-label="Audit log entries">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>When</Table.Th>
                    <Table.Th>Actor</Table.Th>
                    <Table.Th>Action</Table.Th>
                    <Table.Th>Outcome</Table.Th>
                    <Table.Th>Target</Table.Th>
                    <Table.Th>IP</Table.Th>
                    <Table.Th>Detail</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {shown.map((entry) => {
                    const detail = detailText(entry.detail);
                    return (
                      <Table.Tr key={entry.id}>
                        <Table.Td>
                          <TimeAgo iso={entry.at} />
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm">{entry.actor}</Text>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm" ff="monospace" className="fc-nowrap">
                            {entry.action}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Badge variant="light" color={OUTCOME_COLORS[entry.outcome] ?? "gray"}>
                            {entry.outcome}
                          </Badge>
                        </Table.Td>
                        <Table.Td>
                          <Text size="xs" ff="monospace" maw={200} truncate="end" title={entry.target ?? undefined}>
                            {entry.target ?? "—"}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Text size="xs" ff="monospace">
                            {entry.ip ?? "—"}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Text size="xs" ff="monospace" c="dimmed" lineClamp={2} maw={320} title={detail}>
                            {detail || "—"}
                          </Text>
                        </Table.Td>
                      </Table.Tr>
                    );
                  })}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            <Group justify="space-between" mt="md" wrap="wrap">
              <Text size="sm" c="dimmed">
                {entries.length === FETCH_LIMIT
                  ? `The newest ${FETCH_LIMIT} matching entries; narrow the filters to see older ones.`
                  : `${entries.length} ${entries.length === 1 ? "entry" : "entries"}`}
              </Text>
              {pages > 1 && (
                <Pagination
                  total={pages}
                  value={current}
                  onChange={setPage}
                  aria-label="Audit log pages"
                  getControlProps={(control) => ({ "aria-label": `${control} page` })}
                />
              )}
            </Group>
          </>
        )}
      </QueryState>
    </>
  );
}

export default function AuditPage() {
  const { isAdmin, known } = usePermissions();
  return (
    <AdminOnly known={known} isAdmin={isAdmin} what="Audit log">
      <AuditTable />
    </AdminOnly>
  );
}
