import { Alert, Badge, Button, Group, Modal, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconAlertTriangle, IconPlug, IconPlus } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useApiTokens, useCreateApiToken, useRevokeApiToken } from "../api/admin.ts";
import { useMe } from "../api/me.ts";
import type { ApiToken, Role } from "../api/types.ts";
import { CodeBlock } from "../components/code-block.tsx";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { McpConnectModal, mcpEndpointUrl } from "../components/mcp-connect-modal.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
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
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ name: name.trim() });
  };
  const origin = window.location.origin;
  return (
    <Modal
      opened={opened}
      onClose={close}
      title={created ? `API token “${created.name}”` : "Create an API token"}
      size={created ? "lg" : "md"}
      // Once the token is on screen, a stray click outside must not throw it away.
      closeOnClickOutside={!created}
      closeOnEscape={!created}
    >
      {created ? (
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
      ) : (
        <form onSubmit={submit}>
          <Stack>
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
            {create.error ? <ErrorAlert error={create.error} title="Not created" /> : null}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={create.isPending} disabled={!name.trim()}>
                Create token
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
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
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const list = [...(tokens.data ?? [])].sort((a, b) => (b.createdAt ?? "").localeCompare(a.createdAt ?? ""));

  return (
    <>
      <PageHeader
        title="API tokens"
        description={`Long-lived tokens for scripts and CI, acting as ${me.data?.username ?? "you"}${
          me.data ? ` (${me.data.role})` : ""
        }.`}
        actions={
          <Button leftSection={<IconPlus size={16} />} onClick={createModal.open}>
            Create token
          </Button>
        }
      />
      <QueryState isPending={tokens.isPending} error={tokens.error} onRetry={() => tokens.refetch()}>
        {list.length === 0 ? (
          <Empty title="No API tokens">Create one for a script; it is shown once.</Empty>
        ) : (
          <Table.ScrollContainer minWidth={480}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Limits</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Last used</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((token) => (
                  <Table.Tr key={token.id}>
                    <Table.Td>
                      <Text fw={600} size="sm">
                        {token.name}
                      </Text>
                    </Table.Td>
                    <Table.Td>
                      <TokenLimits token={token} />
                    </Table.Td>
                    <Table.Td>
                      <TimeAgo iso={token.createdAt} />
                    </Table.Td>
                    <Table.Td>
                      <TimeAgo iso={token.lastUsedAt} />
                    </Table.Td>
                    <Table.Td align="right">
                      <DangerIconButton
                        tooltip="Revoke"
                        ariaLabel={`Revoke ${token.name}`}
                        onClick={() => {
                          revoke.reset();
                          setRevoking(token);
                        }}
                      />
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
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
      <ConfirmDangerModal
        target={revoking}
        onClose={() => setRevoking(null)}
        mutation={revoke}
        variables={(token) => token.id}
        title="Revoke API token"
        confirmLabel="Revoke"
      >
        Revoke <b>{revoking?.name}</b>? Whatever uses it gets 401 from its next request on.
      </ConfirmDangerModal>
    </>
  );
}
