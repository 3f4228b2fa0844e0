import { ActionIcon, Badge, Group, PasswordInput, Select, Text, TextInput, Tooltip } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconKey } from "@tabler/icons-react";
import { useState } from "react";
import { useCreateUser, useDeleteUser, useUpdateUser, useUsers } from "../api/admin.ts";
import { errorMessage } from "../api/client.ts";
import { useMe, usePermissions } from "../api/me.ts";
import { ROLES, type Role, type User } from "../api/types.ts";
import { AdminOnly } from "../components/admin-only.tsx";
import { ResourceList } from "../components/resource-list.tsx";
import { ResourceFormModal } from "../components/resource-list-form.tsx";
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
  const submit = () =>
    create.mutate(
      { username: username.trim(), password, role },
      {
        onSuccess: (user) => {
          notifications.show({ color: "green", message: `Created ${user.username} (${user.role})` });
          close();
        },
      },
    );
  const short = password.length > 0 && password.length < MIN_PASSWORD;
  return (
    <ResourceFormModal
      opened={opened}
      onClose={close}
      title="Create a user"
      onSubmit={submit}
      submitLabel="Create user"
      submitting={create.isPending}
      canSubmit={Boolean(username.trim()) && password.length >= MIN_PASSWORD}
      error={create.error}
      errorTitle="Not created"
    >
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
    </ResourceFormModal>
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
  const submit = () => {
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
    <ResourceFormModal
      opened={user !== null}
      onClose={close}
      title={`New password for ${user?.username ?? ""}`}
      onSubmit={submit}
      submitLabel="Change password"
      submitting={update.isPending}
      canSubmit={password.length >= MIN_PASSWORD}
      error={update.error}
      errorTitle="Not changed"
    >
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
    </ResourceFormModal>
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
  const isSelf = (user: User) => user.id === me.data?.id;

  return (
    <ResourceList
      title="Users"
      description="Who may sign in, and with which role. The Core checks the role on every request."
      add={{ label: "Create user", onClick: createModal.open }}
      query={users}
      sort={(a, b) => a.username.localeCompare(b.username)}
      rowKey={(user) => user.id}
      minWidth={560}
      empty={{ title: "No users" }}
      columns={[
        {
          header: "Username",
          cell: (user) => {
            const locked = user.lockedUntil && Date.parse(user.lockedUntil) > Date.now();
            return (
              <Group gap={6}>
                <Text fw={600} size="sm">
                  {user.username}
                </Text>
                {isSelf(user) && (
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
            );
          },
        },
        { header: "Role", cell: (user) => <RoleSelect user={user} self={isSelf(user)} /> },
        { header: "Created", cell: (user) => <TimeAgo iso={user.createdAt} /> },
      ]}
      actions={(user) => (
        <Tooltip label="Change password" withArrow>
          <ActionIcon
            variant="subtle"
            aria-label={`Change password of ${user.username}`}
            onClick={() => setPasswordFor(user)}
          >
            <IconKey size={16} />
          </ActionIcon>
        </Tooltip>
      )}
      remove={{
        verb: "Delete",
        title: "Delete user",
        mutation: remove,
        variables: (user) => user.id,
        name: (user) => user.username,
        refused: (user) => isSelf(user) && "You cannot delete yourself",
        confirm: (user) => (
          <>
            Delete <b>{user.username}</b>? Their sessions and API tokens stop working at once. The audit log keeps their
            name.
          </>
        ),
      }}
    >
      <CreateUserModal opened={createOpened} onClose={createModal.close} />
      <PasswordModal user={passwordFor} onClose={() => setPasswordFor(null)} />
    </ResourceList>
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
