import { Alert, Badge, Button, Group, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAlertTriangle, IconPlug } from "@tabler/icons-react";
import { useState } from "react";
import { useApiTokens, useCreateApiToken, useRevokeApiToken } from "../api/admin.ts";
import { useMe } from "../api/me.ts";
import type { ApiToken, Role } from "../api/types.ts";
import { CodeBlock } from "../components/code-block.tsx";
import { McpConnectModal, mcpEndpointUrl } from "../components/mcp-connect-modal.tsx";
import { ResourceList } from "../components/resource-list.tsx";
import { ResourceFormModal } from "../components/resource-list-form.tsx";
import { TimeAgo } from "../components/time-ago.tsx";

function CreateTokenModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const create = useCreateApiToken();
  const [name, setName] = useState("");
  const created = create.data;
  const close = () => {
    create.reset();
    setName("");
    onClose();
  };
  const origin = window.location.origin;
  return (
    <ResourceFormModal
      opened={opened}
      onClose={close}
      title={created ? `API token “${created.name}”` : "Create an API token"}
      // Once the token is on screen, a stray click outside must not throw it away.
      modal={{ size: created ? "lg" : "md", closeOnClickOutside: !created, closeOnEscape: !created }}
      onSubmit={() => create.mutate({ name: name.trim() })}
      submitLabel="Create token"
      submitting={create.isPending}
      canSubmit={Boolean(name.trim())}
      error={create.error}
      errorTitle="Not created"
      shown={
        created && (
          <Stack>
            <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title="Copy the token now">
              It is shown only once; the Core keeps only its hash. Anyone holding it acts as you, with your role.
            </Alert>
            <CodeBlock code={created.token} label="API token" />
            <Text size="sm" c="dimmed">
              Send it as a bearer token:
            </Text>
            <CodeBlock
              code={`curl -H "Authorization: Bearer ${created.token}" ${origin}/api/nodes`}
              label="example request"
            />
            <Group justify="flex-end">
              <Button onClick={close}>I have copied it</Button>
            </Group>
          </Stack>
        )
      }
    >
      <TextInput
        label="Name"
        description="What uses it, so you know which one to revoke later"
        placeholder="ci-deploy"
        required
        data-autofocus
        maxLength={200}
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
      />
    </ResourceFormModal>
  );
}

function isRole(value: string | undefined): value is Role {
  return value === "admin" || value === "operator" || value === "viewer";
}

/** A token's role and scopes, when they narrow what its owner could do. */
function TokenLimits({ token }: { token: ApiToken }) {
  const parts: string[] = [];
  if (token.scopes?.selector) parts.push(`Nodes ${token.scopes.selector}`);
  if (token.scopes?.tools?.length) parts.push(`tools ${token.scopes.tools.join(", ")}`);
  if (token.mcpApproval?.required) parts.push("every MCP call approved");
  else if (token.mcpApproval?.tools?.length) parts.push(`approval: ${token.mcpApproval.tools.join(", ")}`);
  return (
    <Group gap={6} wrap="nowrap">
      {token.role ? (
        <Badge variant="light" size="sm" color="gray">
          {token.role}
        </Badge>
      ) : null}
      <Text size="xs" c="dimmed">
        {parts.length > 0 ? parts.join(" · ") : "none"}
      </Text>
    </Group>
  );
}

/** The signed-in user's API tokens. Every role has them: a token carries its owner's role, so a
 * viewer's token can only read. */
export default function TokensPage() {
  const tokens = useApiTokens();
  const me = useMe();
  const revoke = useRevokeApiToken();
  const [createOpened, createModal] = useDisclosure(false);
  const [connectOpened, connectModal] = useDisclosure(false);

  return (
    <ResourceList
      title="API tokens"
      description={`Long-lived tokens for scripts and CI, acting as ${me.data?.username ?? "you"}${
        me.data ? ` (${me.data.role})` : ""
      }.`}
      add={{ label: "Create token", onClick: createModal.open }}
      query={tokens}
      sort={(a, b) => b.createdAt.localeCompare(a.createdAt)}
      rowKey={(token) => token.id}
      minWidth={480}
      empty={{ title: "No API tokens", body: "Create one for a script; it is shown once." }}
      columns={[
        {
          header: "Name",
          cell: (token) => (
            <Text fw={600} size="sm">
              {token.name}
            </Text>
          ),
        },
        { header: "Limits", cell: (token) => <TokenLimits token={token} /> },
        { header: "Created", cell: (token) => <TimeAgo iso={token.createdAt} /> },
        { header: "Last used", cell: (token) => <TimeAgo iso={token.lastUsedAt} /> },
      ]}
      remove={{
        verb: "Revoke",
        title: "Revoke API token",
        mutation: revoke,
        variables: (token) => token.id,
        name: (token) => token.name,
        confirm: (token) => (
          <>
            Revoke <b>{token.name}</b>? Whatever uses it gets 401 from its next request on.
          </>
        ),
      }}
    >
      <Text size="xs" c="dimmed" mt="md">
        Last used is updated at most once a minute.
      </Text>
      <Paper withBorder p="md" mt="xl" component="section" aria-labelledby="mcp-connect-title">
        <Group justify="space-between" align="flex-start" gap="sm">
          <div>
            <Title order={4} id="mcp-connect-title">
              Connect an MCP client
            </Title>
            <Text size="sm" c="dimmed" mt={4} maw={640}>
              LM Studio, Claude Desktop, Cursor and VS Code can use your Nodes' tools (named{" "}
              <Text span ff="monospace">
                node__tool
              </Text>
              ) through this Core, under your role, the token's limits, approvals and the audit log.
            </Text>
          </div>
          <Button leftSection={<IconPlug size={16} />} onClick={connectModal.open}>
            Connect an MCP client
          </Button>
        </Group>
        <Text size="sm" mt="sm" mb={4}>
          Endpoint (MCP Streamable HTTP,{" "}
          <Text span ff="monospace">
            Authorization: Bearer
          </Text>{" "}
          an API token):
        </Text>
        <CodeBlock code={mcpEndpointUrl()} label="MCP endpoint" />
      </Paper>
      <CreateTokenModal opened={createOpened} onClose={createModal.close} />
      <McpConnectModal
        opened={connectOpened}
        onClose={connectModal.close}
        ownRole={isRole(me.data?.role) ? me.data.role : null}
      />
    </ResourceList>
  );
}
