import { Autocomplete, Box, Group, Pagination, Select, Switch, Text, TextInput } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { useAudit } from "../api/admin.ts";
import { usePermissions } from "../api/me.ts";
import { AdminOnly } from "../components/admin-only.tsx";
import { AuditCards, AuditTableView } from "../components/audit-entry-views.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { QueryState } from "../components/query-state.tsx";

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
  "user.password",
  "node.enroll",
  "node.update",
  "node.revoke",
  "mcp.add",
  "mcp.remove",
  "mcp.restart",
  "mcp.tool.call",
  "mcp.approve",
  "mcp.deny",
  "provider.create",
  "provider.update",
  "provider.delete",
  "secret.create",
  "secret.update",
  "secret.delete",
  "secret.unreadable",
  "channel.create",
  "channel.delete",
  "channel.test",
  "job.create",
  "job.update",
  "job.delete",
  "run.start",
  "run.cancel",
  "run.approve",
  "run.deny",
  "tool.call",
  "webhook.reject",
  "webhook.replay",
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

function AuditTable() {
  // Filters live in the URL, so a filtered view can be linked to and survives a reload.
  const [params, setParams] = useSearchParams();
  const [actionInput, setActionInput] = useState(params.get("action") ?? "");
  const [actorInput, setActorInput] = useState(params.get("actor") ?? "");
  const [targetInput, setTargetInput] = useState(params.get("target") ?? "");
  const [action] = useDebouncedValue(actionInput.trim(), 300);
  const [actor] = useDebouncedValue(actorInput.trim(), 300);
  const [target] = useDebouncedValue(targetInput.trim(), 300);
  // A sign-in session's token use (once a minute while the UI is open) follows its auth.login and
  // says nothing new, so it is hidden unless asked for; API tokens' uses always show.
  // Held here as well as in the URL: the router applies URL changes in a transition, a frame late.
  const [sessionsInput, setSessionsInput] = useState(params.get("sessions") === "1");
  const showSessionUse = sessionsInput || action === "token.use";
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
    ...(target ? { target } : {}),
    ...(since ? { since } : {}),
    ...(showSessionUse ? {} : { hideSessionTokenUse: true }),
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
        description="Who did what, from where, newest first: sign-ins, changes, runs, approvals and tool calls. Names link to what they are about."
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
        <TextInput
          label="Target"
          placeholder="Any id or name"
          value={targetInput}
          onChange={(e) => {
            const value = e.currentTarget.value;
            setTargetInput(value);
            setParam("target", value.trim() || null);
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
        <Switch
          label="Show session token use"
          checked={showSessionUse}
          disabled={action === "token.use"}
          onChange={(e) => {
            const checked = e.currentTarget.checked;
            setSessionsInput(checked);
            setParam("sessions", checked ? "1" : null);
          }}
          mb={8}
        />
      </Group>
      <QueryState isPending={audit.isPending} error={audit.error} onRetry={() => audit.refetch()}>
        {entries.length === 0 ? (
          <Empty title="No entries match">
            {action || actor || target || since
              ? "Try clearing the filters; action, actor and target match exactly."
              : null}
          </Empty>
        ) : (
          <>
            <Box visibleFrom="sm">
              <AuditTableView entries={shown} />
            </Box>
            <Box hiddenFrom="sm">
              <AuditCards entries={shown} />
            </Box>
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
