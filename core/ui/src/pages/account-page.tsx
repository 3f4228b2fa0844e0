import { Alert, Badge, Button, Card, Group, PasswordInput, Stack, Text } from "@mantine/core";
import { IconCheck } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useChangeOwnPassword } from "../api/auth.ts";
import { ApiError } from "../api/client.ts";
import { useMe } from "../api/me.ts";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert } from "../components/query-state.tsx";

/* Issue 22.7: every user — not only an admin — changes their own password here. The Core's word
 * on a field (wrong current password, too short) is shown at that field, cleared when it is edited. */

const MIN_LENGTH = 12;

function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const fields = (error.details as { fields?: unknown } | undefined)?.fields;
  if (typeof fields === "object" && fields !== null) return fields as Record<string, string>;
  // A body-schema refusal names the field in its message ("body.newPassword: …").
  const match = /newPassword|currentPassword/.exec(error.message);
  return match ? { [match[0]]: error.message.replace(/^.*?(newPassword|currentPassword)\s*:?\s*/, "") } : {};
}

export default function AccountPage() {
  const me = useMe();
  const change = useChangeOwnPassword();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [cleared, setCleared] = useState<Record<string, boolean>>({});
  const server = fieldErrors(change.error);
  const local: Record<string, string> = {};
  if (next && next.length < MIN_LENGTH) local.newPassword = `at least ${MIN_LENGTH} characters`;
  if (repeat && repeat !== next) local.repeat = "does not match the new password";
  const errorOf = (field: string) => local[field] ?? (cleared[field] ? undefined : server[field]);
  const edit = (field: string, set: (v: string) => void) => (value: string) => {
    set(value);
    setCleared((c) => ({ ...c, [field]: true }));
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(local).length || !current || !next || next !== repeat) return;
    setCleared({});
    change.mutate(
      { currentPassword: current, newPassword: next },
      {
        onSuccess: () => {
          setCurrent("");
          setNext("");
          setRepeat("");
        },
      },
    );
  };
  const unplaced = change.error && Object.keys(server).length === 0 ? change.error : null;

  return (
    <>
      <PageHeader title="Your account" description="Who you are signed in as, and your password." />
      <Stack gap="lg" maw={520}>
        {me.data ? (
          <Group gap="xs">
            <Text fw={600}>{me.data.username}</Text>
            <Badge variant="light" color={me.data.role === "admin" ? "red" : "gray"}>
              {me.data.role}
            </Badge>
          </Group>
        ) : null}
        <Card withBorder component="form" onSubmit={submit} aria-label="Change your password">
          <Stack>
            <Text fw={600}>Change your password</Text>
            <Text size="sm" c="dimmed">
              Every other session and API token of yours ends; this browser stays signed in.
            </Text>
            <PasswordInput
              label="Current password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => edit("currentPassword", setCurrent)(e.currentTarget.value)}
              error={errorOf("currentPassword")}
              required
            />
            <PasswordInput
              label="New password"
              autoComplete="new-password"
              description={`At least ${MIN_LENGTH} characters`}
              value={next}
              onChange={(e) => edit("newPassword", setNext)(e.currentTarget.value)}
              error={errorOf("newPassword")}
              required
            />
            <PasswordInput
              label="Repeat the new password"
              autoComplete="new-password"
              value={repeat}
              onChange={(e) => edit("repeat", setRepeat)(e.currentTarget.value)}
              error={errorOf("repeat")}
              required
            />
            {unplaced ? <ErrorAlert error={unplaced} title="Not changed" /> : null}
            {change.isSuccess ? (
              <Alert color="green" variant="light" icon={<IconCheck size={18} />}>
                Password changed. Other sessions and your API tokens have ended.
              </Alert>
            ) : null}
            <Group justify="flex-end">
              <Button type="submit" loading={change.isPending}>
                Change password
              </Button>
            </Group>
          </Stack>
        </Card>
      </Stack>
    </>
  );
}
