import { Alert, Button, Group, Modal, Stack, Tabs, TagsInput, Text, TextInput } from "@mantine/core";
import { IconAlertTriangle } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { useEnrollNode } from "../api/nodes.ts";
import type { EnrolledNode } from "../api/types.ts";
import { CodeBlock } from "./code-block.tsx";
import { parseLabels } from "./labels.tsx";
import { ErrorAlert } from "./query-state.tsx";

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function nodeCommand(origin: string, token: string): string {
  return `./fabricore-node --core ${shellQuote(origin)} --token ${shellQuote(token)} --read-root /var/log`;
}

/** The token goes into a root-only environment file rather than the unit, because unit files are
 * world-readable and `systemctl show` prints Environment= lines. */
export function systemdSetup(origin: string, token: string): string {
  return `sudo install -m 0755 fabricore-node /usr/local/bin/fabricore-node
sudo install -d -m 0700 /etc/fabricore
printf 'FABRICORE_NODE_TOKEN=%s\\n' ${shellQuote(token)} | sudo tee /etc/fabricore/node.env >/dev/null
sudo chmod 0600 /etc/fabricore/node.env

sudo tee /etc/systemd/system/fabricore-node.service >/dev/null <<'UNIT'
[Unit]
Description=FabriCore Node
Wants=network-online.target
After=network-online.target

[Service]
EnvironmentFile=/etc/fabricore/node.env
ExecStart=/usr/local/bin/fabricore-node --core ${origin} --read-root /var/log
Restart=always
RestartSec=5
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
UNIT

sudo systemctl daemon-reload
sudo systemctl enable --now fabricore-node`;
}

function TokenView({ node, onDone }: { node: EnrolledNode; onDone: () => void }) {
  const origin = window.location.origin;
  return (
    <Stack>
      <Alert color="yellow" variant="light" icon={<IconAlertTriangle size={18} />} title="Copy the token now">
        This enrollment token for <b>{node.name}</b> is shown only once. The Core keeps only its hash.
      </Alert>
      <div>
        <Text size="sm" fw={600} mb={4}>
          Token
        </Text>
        <CodeBlock code={node.token} label="token" />
      </div>
      <Tabs defaultValue="command" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="command">Run it</Tabs.Tab>
          <Tabs.Tab value="systemd">Install as a systemd service</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="command" pt="sm">
          <Text size="sm" c="dimmed" mb={6}>
            On the server, next to the <code>fabricore-node</code> executable:
          </Text>
          <CodeBlock code={nodeCommand(origin, node.token)} label="command" />
        </Tabs.Panel>
        <Tabs.Panel value="systemd" pt="sm">
          <Text size="sm" c="dimmed" mb={6}>
            Installs the executable, keeps the token in a root-only file and starts the Node at boot. Add{" "}
            <code>--allow-exec</code> to <code>ExecStart</code> to offer shell commands.
          </Text>
          <CodeBlock code={systemdSetup(origin, node.token)} label="systemd setup" />
        </Tabs.Panel>
      </Tabs>
      <Group justify="flex-end">
        <Button onClick={onDone}>I have copied it</Button>
      </Group>
    </Stack>
  );
}

export function EnrollNodeModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const enroll = useEnrollNode();
  const [name, setName] = useState("");
  const [labels, setLabels] = useState<string[]>([]);
  const enrolled = enroll.data;

  const close = () => {
    setName("");
    setLabels([]);
    enroll.reset();
    onClose();
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseLabels(labels);
    enroll.mutate({ name: name.trim(), ...(Object.keys(parsed).length ? { labels: parsed } : {}) });
  };

  return (
    <Modal
      opened={opened}
      onClose={close}
      title={enrolled ? `Node “${enrolled.name}” enrolled` : "Enroll a Node"}
      size={enrolled ? "xl" : "md"}
      // Once the token is on screen, a stray click outside must not throw it away.
      closeOnClickOutside={!enrolled}
      closeOnEscape={!enrolled}
    >
      {enrolled ? (
        <TokenView node={enrolled} onDone={close} />
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <TextInput
              label="Name"
              description="How jobs and people will refer to this server"
              placeholder="web-1"
              required
              data-autofocus
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
            />
            <TagsInput
              label="Labels"
              description="Optional key=value pairs; press Enter after each"
              placeholder="env=prod"
              value={labels}
              onChange={setLabels}
              clearable
            />
            {enroll.error ? <ErrorAlert error={enroll.error} title="Not enrolled" /> : null}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={enroll.isPending} disabled={!name.trim()}>
                Create enrollment token
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
