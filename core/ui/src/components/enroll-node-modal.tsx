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

/** The Node refuses plain http:// to a Core that is not on its own host unless told --insecure
 * (enrollment and every tool result would cross the network unencrypted). */
export function needsInsecure(origin: string): boolean {
  try {
    const url = new URL(origin);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return url.protocol === "http:" && !(host === "localhost" || host === "::1" || host.startsWith("127."));
  } catch {
    return false;
  }
}

function coreFlags(origin: string): string {
  return `--core ${shellQuote(origin)}${needsInsecure(origin) ? " --insecure" : ""}`;
}

export function nodeCommand(origin: string, token: string): string {
  return `./fabricore-node --core ${shellQuote(origin)} --token ${shellQuote(token)} --read-root /var/log${
    needsInsecure(origin) ? " --insecure" : ""
  }`;
}

/** The token goes into a root-only environment file rather than the unit, because unit files are
 * world-readable and `systemctl show` prints Environment= lines. The Node keeps its key in its state
 * directory: that directory, not the token, is its identity after the first start. */
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
ExecStart=/usr/local/bin/fabricore-node ${coreFlags(origin)} --read-root /var/log --data-dir /var/lib/fabricore-node
StateDirectory=fabricore-node
StateDirectoryMode=0700
Restart=always
RestartSec=5
NoNewPrivileges=yes

[Install]
WantedBy=multi-user.target
UNIT

sudo systemctl daemon-reload
sudo systemctl enable --now fabricore-node`;
}

/** The one line that installs the Node from this Core (GET /install.sh): it downloads the Node for
 * the server's platform, checks its SHA-256, installs it with a sandboxed systemd unit and starts it.
 * Run again with a new token after a rotation: it rewrites the token file and restarts the Node. */
export function installCommand(origin: string, token: string): string {
  return `curl -fsSL ${shellQuote(`${origin}/install.sh`)} | sudo sh -s -- --token ${shellQuote(token)}`;
}

/** After a rotation: the new token replaces the old one in the environment file and a restart
 * registers the Node's key with it. */
export function systemdRotate(token: string): string {
  return `printf 'FABRICORE_NODE_TOKEN=%s\\n' ${shellQuote(token)} | sudo tee /etc/fabricore/node.env >/dev/null
sudo systemctl restart fabricore-node`;
}

/** A freshly issued enrollment token with how to use it; shown once (enrollment or rotation). */
export function NodeTokenView({
  node,
  onDone,
  rotated = false,
}: {
  node: EnrolledNode;
  onDone: () => void;
  rotated?: boolean;
}) {
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
      <Text size="sm" c="dimmed">
        The token is spent at the Node's first start: the Node makes its own Ed25519 key, registers it with this token
        and signs every later connection with it. The key lives in the Node's data directory (
        <code>/var/lib/fabricore-node</code> as root, else <code>~/.fabricore-node</code>; <code>--data-dir</code> to
        choose) — keep it.{" "}
        {rotated
          ? "Until the Node starts with the new token, its current key keeps working; after that only the new key does."
          : "To move or re-key the Node later, use Rotate token on its page."}
      </Text>
      <div>
        <Text size="sm" fw={600} mb={4}>
          {rotated ? "Re-run the installer with the new token" : "Install on the server (Linux x64 or arm64, systemd)"}
        </Text>
        <CodeBlock code={installCommand(origin, node.token)} label="install command" />
        <Text size="xs" c="dimmed" mt={6}>
          Downloads the Node from this Core, checks its SHA-256, installs <code>/usr/local/bin/fabricore-node</code>{" "}
          with a sandboxed systemd unit and starts it; running it again upgrades in place. Add{" "}
          <code>--read-root DIR</code> (repeatable), <code>--allow-exec</code>, <code>--docker</code> (MCP containers)
          or <code>--no-start</code>; <code>--uninstall</code> removes it. Read it first:{" "}
          <a href={`${origin}/install.sh`} target="_blank" rel="noreferrer">
            install.sh
          </a>
          .
        </Text>
      </div>
      <Text size="sm" fw={600}>
        Or by hand
      </Text>
      <Tabs defaultValue="command" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="command">Run it</Tabs.Tab>
          <Tabs.Tab value="systemd">{rotated ? "Under systemd" : "Install as a systemd service"}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="command" pt="sm">
          <Text size="sm" c="dimmed" mb={6}>
            Copy <code>dist/fabricore-node</code> (from <code>make build-node</code>; one file, nothing else to install)
            to the server and, next to it{rotated ? ", restart it with the new token" : ""}:
          </Text>
          <CodeBlock code={nodeCommand(origin, node.token)} label="command" />
          <Text size="xs" c="dimmed" mt={6}>
            <code>--read-root</code> (repeatable) is where <code>read_file</code> may read; add{" "}
            <code>--allow-exec</code> to offer commands (run without a shell; <code>--allow-shell</code> for pipes and{" "}
            <code>;</code>) and <code>--mount-root DIR</code> to let MCP containers mount below DIR.
            {needsInsecure(origin)
              ? " This Core is on plain http:// off the Node's host, so the command carries --insecure: prefer https://."
              : ""}
          </Text>
        </Tabs.Panel>
        <Tabs.Panel value="systemd" pt="sm">
          {rotated ? (
            <>
              <Text size="sm" c="dimmed" mb={6}>
                On a Node installed with the unit from the enroll dialog, replace the token and restart:
              </Text>
              <CodeBlock code={systemdRotate(node.token)} label="systemd rotation" />
            </>
          ) : (
            <>
              <Text size="sm" c="dimmed" mb={6}>
                Installs the executable, keeps the token in a root-only file, the Node's key in{" "}
                <code>/var/lib/fabricore-node</code>, and starts the Node at boot. Add <code>--allow-exec</code> to{" "}
                <code>ExecStart</code> to offer commands (no shell; <code>--allow-shell</code> for one).
              </Text>
              <CodeBlock code={systemdSetup(origin, node.token)} label="systemd setup" />
            </>
          )}
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
        <NodeTokenView node={enrolled} onDone={close} />
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
