import {
  ActionIcon,
  Badge,
  Button,
  Group,
  Modal,
  PasswordInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Tooltip,
} from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconKey, IconPlus } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useCreateUser, useDeleteUser, useUpdateUser, useUsers } from "../api/admin.ts";
import { errorMessage } from "../api/client.ts";
import { useMe, usePermissions } from "../api/me.ts";
import { ROLES, type Role, type User } from "../api/types.ts";
import { AdminOnly } from "../components/admin-only.tsx";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
import { TimeAgo } from "../components/time-ago.tsx";

const ROLE_HELP: Record<Role, string> = {
  admin: "admin — everything: Nodes, MCP, providers, secrets, users, audit log",
  operator: "operator — runs and edits jobs, cancels runs, approves tool calls",
  viewer: "viewer — reads everything but secret values; changes nothing",
};
const ROLE_OPTIONS = ROLES.map((r) => ({ value: r, label: ROLE_HELP[r] }));
const MIN_PASSWORD = 12;

function CreateUserModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const create = useCreateUser();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("operator");
  const close = () => {
    create.reset();
    setUsername("");
    setPassword("");
    setRole("operator");
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { username: username.trim(), password, role },
      {
        onSuccess: (user) => {
          notifications.show({ color: "green", message: `Created ${user.username} (${user.role})` });
          close();
        },
      },
    );
  };
  const short = password.length > 0 && password.length < MIN_PASSWORD;
  return (
    <Modal opened={opened} onClose={close} title="Create a user">
      <form onSubmit={submit}>
        <Stack>
          <TextInput
            label="Username"
            description="Letters, digits, _ . @ -"
            required
            data-autofocus
            autoComplete="off"
            value={username}
            onChange={(e) => setUsername(e.currentTarget.value)}
          />
          <PasswordInput
            label="Password"
            description={`At least ${MIN_PASSWORD} characters; tell the user over a safe channel`}
            required
            autoComplete="new-password"
            value={password}
            error={short ? `At least ${MIN_PASSWORD} characters` : null}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          <Select
            label="Role"
            required
            data={ROLE_OPTIONS}
            value={role}
            onChange={(value) => value && setRole(value as Role)}
            allowDeselect={false}
          />
          {create.error ? <ErrorAlert error={create.error} title="Not created" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button
              type="submit"
              loading={create.isPending}
              disabled={!username.trim() || password.length < MIN_PASSWORD}
            >
              Create user
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function PasswordModal({ user, onClose }: { user: User | null; onClose: () => void }) {
  const update = useUpdateUser();
  const [password, setPassword] = useState("");
  const close = () => {
    update.reset();
    setPassword("");
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!user) return;
    update.mutate(
      { id: user.id, password },
      {
        onSuccess: () => {
          notifications.show({ color: "green", message: `Password of ${user.username} changed` });
          close();
        },
      },
    );
  };
  return (
    <Modal opened={user !== null} onClose={close} title={`New password for ${user?.username ?? ""}`}>
      <form onSubmit={submit}>
        <Stack>
          <Text size="sm" c="dimmed">
            Every session and API token of this user ends at once; they sign in again with the new password.
          </Text>
          <PasswordInput
            label="New password"
            description={`At least ${MIN_PASSWORD} characters`}
            required
            data-autofocus
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
          />
          {update.error ? <ErrorAlert error={update.error} title="Not changed" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={update.isPending} disabled={password.length < MIN_PASSWORD}>
              Change password
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function RoleSelect({ user, self }: { user: User; self: boolean }) {
  const update = useUpdateUser();
  const value = update.isPending ? (update.variables?.role ?? user.role) : user.role;
  return (
    <Select
      aria-label={`Role of ${user.username}`}
      data={ROLES.map((r) => ({ value: r, label: r }))}
      value={value}
      allowDeselect={false}
      disabled={update.isPending}
      w={130}
      size="xs"
      onChange={(role) => {
        if (!role || role === user.role) return;
        update.mutate(
          { id: user.id, role: role as Role },
          {
            onSuccess: () =>
              notifications.show({
                color: "green",
                message: `${user.username} is now ${role}${self ? " (sign in again to see it everywhere)" : ""}`,
              }),
            onError: (error) =>
              notifications.show({ color: "red", title: "Role not changed", message: errorMessage(error) }),
          },
        );
      }}
    />
  );
}

function UsersTable() {
  const users = useUsers();
  const me = useMe();
  const remove = useDeleteUser();
  const [createOpened, createModal] = useDisclosure(false);
  const [passwordFor, setPasswordFor] = useState<User | null>(null);
  const [deleting, setDeleting] = useState<User | null>(null);
  const list = [...(users.data ?? [])].sort((a, b) => a.username.localeCompare(b.username));

  return (
    <>
      <PageHeader
        title="Users"
        description="Who may sign in, and with which role. The Core checks the role on every request."
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={createModal.open}>
            Create user
          </Button>
        }
      />
      <QueryState isPending={users.isPending} error={users.error} onRetry={() => users.refetch()}>
        {list.length === 0 ? (
          <Empty title="No users" />
        ) : (
          <Table.ScrollContainer minWidth={560}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Username</Table.Th>
                  <Table.Th>Role</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((user) => {
                  const self = user.id === me.data?.id;
                  const locked = user.lockedUntil && Date.parse(user.lockedUntil) > Date.now();
                  return (
                    <Table.Tr key={user.id}>
                      <Table.Td>
                        <Group gap={6}>
                          <Text fw={600} size="sm">
                            {user.username}
                          </Text>
                          {self && (
                            <Badge size="xs" variant="outline" color="gray">
                              you
                            </Badge>
                          )}
                          {locked && (
                            <Badge size="xs" variant="light" color="orange">
                              locked after failed logins
                            </Badge>
                          )}
                        </Group>
                      </Table.Td>
                      <Table.Td>
                        <RoleSelect user={user} self={self} />
                      </Table.Td>
                      <Table.Td>
                        <TimeAgo iso={user.createdAt} />
                      </Table.Td>
                      <Table.Td>
                        <Group gap={4} justify="flex-end" wrap="nowrap">
                          <Tooltip label="Change password" withArrow>
                            <ActionIcon
                              variant="subtle"
                              aria-label={`Change password of ${user.username}`}
                              onClick={() => setPasswordFor(user)}
                            >
                              <IconKey size={16} />
                            </ActionIcon>
                          </Tooltip>
                          <DangerIconButton
                            tooltip={self ? "You cannot delete yourself" : "Delete"}
                            ariaLabel={`Delete ${user.username}`}
                            disabled={self}
                            onClick={() => {
                              remove.reset();
                              setDeleting(user);
                            }}
                          />
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      <CreateUserModal opened={createOpened} onClose={createModal.close} />
      <PasswordModal user={passwordFor} onClose={() => setPasswordFor(null)} />
      <ConfirmDangerModal
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(user) => user.id}
        title="Delete user"
        confirmLabel="Delete"
      >
        Delete <b>{deleting?.username}</b>? Their sessions and API tokens stop working at once. The audit log keeps
        their name.
      </ConfirmDangerModal>
    </>
  );
}

export default function UsersPage() {
  const { isAdmin, known } = usePermissions();
  return (
    <AdminOnly known={known} isAdmin={isAdmin} what="Users">
      <UsersTable />
    </AdminOnly>
  );
}
