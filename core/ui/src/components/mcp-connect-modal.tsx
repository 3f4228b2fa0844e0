import {
  Alert,
  Anchor,
  Button,
  Group,
  Modal,
  SegmentedControl,
  Select,
  Stack,
  Tabs,
  TagsInput,
  Text,
  TextInput,
} from "@mantine/core";
import { IconAlertTriangle, IconExternalLink } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useCreateApiToken } from "../api/admin.ts";
import type { Role } from "../api/types.ts";
import {
  type Approval,
  claudeDesktopConfig,
  lmStudioDeepLink,
  type McpClientTarget,
  mcpJson,
  mcpTokenBody,
  vsCodeConfig,
} from "../lib/mcp-client-config.ts";
import { CodeBlock } from "./code-block.tsx";
import { ErrorAlert } from "./query-state.tsx";

const ROLES: Role[] = ["viewer", "operator", "admin"];

/** The Core's MCP endpoint as a client on another machine reaches it: the address this page came from. */
export function mcpEndpointUrl(origin: string = window.location.origin): string {
  return `${origin}/mcp`;
}

/** The config of every client we document, for one freshly made token (shown once). */
function ClientConfigs({ target }: { target: McpClientTarget }) {
  return (
    <Tabs defaultValue="lmstudio" keepMounted={false}>
      <Tabs.List>
        <Tabs.Tab value="lmstudio">LM Studio / Cursor</Tabs.Tab>
        <Tabs.Tab value="claude">Claude Desktop</Tabs.Tab>
        <Tabs.Tab value="vscode">VS Code</Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="lmstudio" pt="sm">
        <Stack gap="xs">
          <Group gap="sm">
            <Button
              component="a"
              href={lmStudioDeepLink(target)}
              leftSection={<IconExternalLink size={16} />}
              aria-label="Add to LM Studio"
            >
              Add to LM Studio
            </Button>
            <Text size="xs" c="dimmed">
              Opens LM Studio (0.3.17 or later), which asks before it adds the server.
            </Text>
          </Group>
          <Text size="sm">
            Or paste into{" "}
            <Text span ff="monospace">
              mcp.json
            </Text>{" "}
            (LM Studio: Program tab → Install → Edit mcp.json; Cursor:{" "}
            <Text span ff="monospace">
              ~/.cursor/mcp.json
            </Text>
            ):
          </Text>
          <CodeBlock code={mcpJson(target)} label="mcp.json" />
        </Stack>
      </Tabs.Panel>
      <Tabs.Panel value="claude" pt="sm">
        <Stack gap="xs">
          <Text size="sm">
            Claude Desktop starts local servers only:{" "}
            <Text span ff="monospace">
              mcp-remote
            </Text>{" "}
            (Node.js 18+) bridges it to this Core. Paste into{" "}
            <Text span ff="monospace">
              claude_desktop_config.json
            </Text>{" "}
            (Settings → Developer → Edit Config) and restart Claude.
          </Text>
          <CodeBlock code={claudeDesktopConfig(target)} label="claude_desktop_config.json" />
        </Stack>
      </Tabs.Panel>
      <Tabs.Panel value="vscode" pt="sm">
        <Stack gap="xs">
          <Text size="sm">
            Paste into{" "}
            <Text span ff="monospace">
              .vscode/mcp.json
            </Text>{" "}
            (or MCP: Open User Configuration):
          </Text>
          <CodeBlock code={vsCodeConfig(target)} label="VS Code mcp.json" />
        </Stack>
      </Tabs.Panel>
    </Tabs>
  );
}

/**
 * "Connect an MCP client": makes a token for one client (LM Studio, Claude Desktop, an editor),
 * optionally limited to some Nodes and tools and with calls held for approval, and shows it once
 * inside each client's config, ready to paste.
 */
export function McpConnectModal({
  opened,
  onClose,
  ownRole,
}: {
  opened: boolean;
  onClose: () => void;
  ownRole: Role | null;
}) {
  const create = useCreateApiToken();
  const [name, setName] = useState("lm-studio");
  const [role, setRole] = useState<Role | null>(null);
  const [selector, setSelector] = useState("");
  const [tools, setTools] = useState<string[]>([]);
  const [approval, setApproval] = useState<Approval>("none");
  const [approvalTools, setApprovalTools] = useState<string[]>([]);
  const created = create.data;
  const roles = ROLES.filter((r) => ownRole === null || ROLES.indexOf(r) <= ROLES.indexOf(ownRole));
  const close = () => {
    create.reset();
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(mcpTokenBody({ name, role: role ?? ownRole, ownRole, selector, tools, approval, approvalTools }));
  };
  const url = mcpEndpointUrl();
  return (
    <Modal
      opened={opened}
      onClose={close}
      title={created ? `Connect “${created.name}”` : "Connect an MCP client"}
      size={created ? "xl" : "lg"}
      closeOnClickOutside={!created}
      closeOnEscape={!created}
    >
      {created ? (
        <Stack>
          <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title="Copy it now">
            The token inside these snippets is shown only once. Revoke it on this page when the client no longer needs
            it.
          </Alert>
          <ClientConfigs target={{ name: "fabricore", url, token: created.token }} />
          <Group justify="flex-end">
            <Button onClick={close}>Done</Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <TextInput
              label="Client"
              description="The token's name: which client uses it"
              required
              data-autofocus
              maxLength={200}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <Select
              label="Role"
              description="viewer: the client lists tools but cannot call them"
              data={roles}
              value={role ?? ownRole}
              onChange={(value) => setRole(value as Role | null)}
              allowDeselect={false}
            />
            <TextInput
              label="Nodes"
              description="Optional label selector; empty: every Node you reach"
              placeholder="env=staging"
              value={selector}
              onChange={(e) => setSelector(e.currentTarget.value)}
            />
            <TagsInput
              label="Tools"
              description="Optional; only these tools (read_file, mcp:files, web-1__system_stats…). Press Enter after each"
              placeholder="read_file"
              value={tools}
              onChange={setTools}
              clearable
            />
            <div>
              <Text size="sm" fw={500}>
                Approval
              </Text>
              <Text size="xs" c="dimmed" mb={4}>
                Held calls wait on the Core until an operator approves them.
              </Text>
              <SegmentedControl
                aria-label="Approval"
                value={approval}
                onChange={(value) => setApproval(value as Approval)}
                data={[
                  { value: "none", label: "None" },
                  { value: "tools", label: "Some tools" },
                  { value: "all", label: "Every call" },
                ]}
              />
            </div>
            {approval === "tools" ? (
              <TagsInput
                label="Tools that wait for approval"
                placeholder="exec_command"
                value={approvalTools}
                onChange={setApprovalTools}
              />
            ) : null}
            <Text size="xs" c="dimmed">
              Endpoint:{" "}
              <Anchor component="span" ff="monospace" size="xs">
                {url}
              </Anchor>{" "}
              (MCP Streamable HTTP, bearer token)
            </Text>
            {create.error ? <ErrorAlert error={create.error} title="Not created" /> : null}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button
                type="submit"
                loading={create.isPending}
                // "Some tools" with none named would quietly hold nothing.
                disabled={!name.trim() || (approval === "tools" && approvalTools.length === 0)}
              >
                Create token and show config
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
