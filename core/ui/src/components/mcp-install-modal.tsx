import { Alert, Button, Group, Modal, Select, Stack, Switch, Text, TextInput } from "@mantine/core";
import { IconPlus, IconWorld } from "@tabler/icons-react";
import { type FormEvent, useEffect, useState } from "react";
import { useInstallMcp } from "../api/mcp.ts";
import { useSecrets } from "../api/secrets.ts";
import type { FleetNode, McpMountInput, McpPreset, McpSettingValue } from "../api/types.ts";
import { installProblems } from "../lib/mcp-install-hints.ts";
import { DangerIconButton } from "./danger-action.tsx";
import { McpNodePolicy, policyOf } from "./mcp-node-policy.tsx";
import { ErrorAlert } from "./query-state.tsx";

export type InstallTarget = { kind: "preset"; preset: McpPreset } | { kind: "image" } | { kind: "url" };

function NodeSelect({
  nodes,
  value,
  onChange,
}: {
  nodes: FleetNode[];
  value: string | null;
  onChange: (v: string | null) => void;
}) {
  return (
    <Select
      label="Node"
      required
      placeholder="Pick a Node"
      data={nodes.map((n) => ({ value: n.id, label: `${n.name}${n.status === "online" ? "" : " (offline)"}` }))}
      value={value}
      onChange={onChange}
      searchable
      nothingFoundMessage="No such Node"
      allowDeselect={false}
    />
  );
}

function MountRows({ mounts, onChange }: { mounts: McpMountInput[]; onChange: (m: McpMountInput[]) => void }) {
  const update = (index: number, patch: Partial<McpMountInput>) =>
    onChange(mounts.map((m, i) => (i === index ? { ...m, ...patch } : m)));
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <div>
          <Text size="sm" fw={500}>
            Mounts
          </Text>
          <Text size="xs" c="dimmed">
            Host paths on the Node made visible inside the container. Read-only unless you say otherwise.
          </Text>
        </div>
        <Button
          size="xs"
          variant="light"
          leftSection={<IconPlus size={14} />}
          onClick={() => onChange([...mounts, { source: "", target: "", readOnly: true }])}
        >
          Add mount
        </Button>
      </Group>
      {mounts.map((mount, index) => (
        // Rows have no identity beyond their position; they are only added at the end or removed.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <Group key={index} align="flex-end" gap="xs" wrap="wrap">
          <TextInput
            label="Host path"
            placeholder="/srv/data"
            required
            style={{ flex: "1 1 160px" }}
            value={mount.source}
            onChange={(e) => update(index, { source: e.currentTarget.value })}
          />
          <TextInput
            label="Container path"
            placeholder="/data"
            required
            style={{ flex: "1 1 160px" }}
            value={mount.target}
            onChange={(e) => update(index, { target: e.currentTarget.value })}
          />
          <Switch
            label="Read-only"
            checked={mount.readOnly}
            onChange={(e) => update(index, { readOnly: e.currentTarget.checked })}
            mb={8}
          />
          <DangerIconButton
            tooltip="Remove mount"
            ariaLabel={`Remove mount ${index + 1}`}
            mb={4}
            onClick={() => onChange(mounts.filter((_, i) => i !== index))}
          />
        </Group>
      ))}
    </Stack>
  );
}

export function McpInstallModal({
  target,
  nodes,
  defaultNodeId,
  onClose,
}: {
  target: InstallTarget | null;
  nodes: FleetNode[];
  defaultNodeId: string | null;
  onClose: () => void;
}) {
  const install = useInstallMcp();
  const secrets = useSecrets();
  const [nodeId, setNodeId] = useState<string | null>(defaultNodeId);
  const [name, setName] = useState("");
  const [image, setImage] = useState("");
  const [url, setUrl] = useState("");
  const [mounts, setMounts] = useState<McpMountInput[]>([]);
  const [settings, setSettings] = useState<Record<string, string>>({});
  /** Set by a submit with required settings missing: from then on each shows its error (asterisked until then). */
  const [tried, setTried] = useState(false);

  const preset = target?.kind === "preset" ? target.preset : null;
  const node = nodes.find((n) => n.id === nodeId);
  const policy = policyOf(node);
  const container = target !== null && target.kind !== "url";
  // What the chosen Node would refuse, from the policy it announced (issue 22.5).
  const problems =
    policy && container
      ? installProblems(policy, { image: preset?.image ?? image, mounts, network: preset?.network })
      : [];
  const imageProblem = problems.find((p) => p.field === "image");
  const missing = (preset?.settings ?? []).filter((s) => s.required && !settings[s.name]?.trim()).map((s) => s.name);

  // Reset the form for each new target, so a previous install's values never leak into the next.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset only when the target changes
  useEffect(() => {
    if (!target) return;
    install.reset();
    setNodeId(defaultNodeId ?? (nodes.length === 1 ? (nodes[0]?.id ?? null) : null));
    setName(target.kind === "preset" ? target.preset.id : "");
    setImage("");
    setUrl("");
    setMounts(
      target.kind === "preset" && target.preset.id === "filesystem"
        ? [{ source: "", target: "/data", readOnly: true }]
        : [],
    );
    setSettings({});
    setTried(false);
  }, [target]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!target || !nodeId) return;
    // Nothing the Node would refuse is sent: each reason is already shown where it applies.
    if (missing.length > 0 || problems.length > 0) {
      setTried(true);
      return;
    }
    if (target.kind === "url") {
      install.mutate({ nodeId, body: { name: name.trim(), url: url.trim() } }, { onSuccess: onClose });
      return;
    }
    // A secret setting names a stored secret; the Core resolves it only when it sends the server's
    // environment to the Node, so the value never sits in the server's definition.
    const values: Record<string, McpSettingValue> = {};
    for (const setting of preset?.settings ?? []) {
      const value = settings[setting.name];
      if (!value) continue;
      values[setting.name] = setting.secret ? { secret: value } : value;
    }
    install.mutate(
      {
        nodeId,
        body: {
          name: name.trim(),
          ...(preset ? { preset: preset.id } : { image: image.trim() }),
          mounts: mounts.map((m) => ({ source: m.source.trim(), target: m.target.trim(), readOnly: m.readOnly })),
          ...(Object.keys(values).length ? { settings: values } : {}),
        },
      },
      { onSuccess: onClose },
    );
  };

  const title =
    target?.kind === "preset"
      ? `Install ${target.preset.name}`
      : target?.kind === "url"
        ? "Register an MCP URL"
        : "Run a custom image";
  const secretNames = (secrets.data ?? []).map((s) => s.name);

  return (
    <Modal opened={target !== null} onClose={onClose} title={title} size="lg">
      <form onSubmit={submit}>
        <Stack>
          {preset && (
            <Text size="sm" c="dimmed">
              {preset.description}{" "}
              <Text span ff="monospace" size="xs">
                ({preset.image})
              </Text>
            </Text>
          )}
          {preset?.needsNetwork && (
            <Alert color="blue" variant="light" icon={<IconWorld size={18} />}>
              This server needs network access; its container is started with a network.
            </Alert>
          )}
          <NodeSelect nodes={nodes} value={nodeId} onChange={setNodeId} />
          <McpNodePolicy node={node} container={container} problems={problems} />
          <TextInput
            label="Name"
            description="Letters, digits, _ . - ; its tools are named after it"
            required
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            pattern="[a-zA-Z0-9][a-zA-Z0-9_.\-]{0,47}"
          />
          {target?.kind === "image" && (
            <TextInput
              label="Image"
              description="A container image already present on the Node"
              placeholder="registry.example.com/mcp/server:1.0"
              required
              value={image}
              onChange={(e) => setImage(e.currentTarget.value)}
              error={imageProblem?.message}
            />
          )}
          {target?.kind === "url" ? (
            <TextInput
              label="URL"
              description="An MCP server reachable from the Node (Streamable HTTP)"
              placeholder="http://127.0.0.1:3000/mcp"
              type="url"
              required
              value={url}
              onChange={(e) => setUrl(e.currentTarget.value)}
            />
          ) : (
            <MountRows mounts={mounts} onChange={setMounts} />
          )}
          {(preset?.settings ?? []).map((setting) =>
            setting.secret ? (
              <Select
                key={setting.name}
                label={setting.name}
                withAsterisk={setting.required === true}
                error={
                  tried && missing.includes(setting.name) ? `${setting.name} is required: pick a secret` : undefined
                }
                description={`${setting.description ?? ""} — taken from a stored secret`}
                placeholder={secretNames.length ? "Pick a secret" : "Add one under Secrets first"}
                data={secretNames}
                value={settings[setting.name] ?? null}
                onChange={(value) => setSettings((s) => ({ ...s, [setting.name]: value ?? "" }))}
                searchable
                clearable
              />
            ) : (
              <TextInput
                key={setting.name}
                label={setting.name}
                withAsterisk={setting.required === true}
                error={tried && missing.includes(setting.name) ? `${setting.name} is required` : undefined}
                description={setting.description}
                value={settings[setting.name] ?? ""}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  setSettings((s) => ({ ...s, [setting.name]: value }));
                }}
              />
            ),
          )}
          {install.error ? <ErrorAlert error={install.error} title="The Core refused this server" /> : null}
          {tried && (missing.length > 0 || problems.length > 0) ? (
            <Text size="sm" c="red" role="alert">
              Not installed:{" "}
              {[
                ...missing.map((name) => `${name} is required`),
                ...problems.map((p) => p.message.replace(/\.$/, "")),
              ].join("; ")}
              .
            </Text>
          ) : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={install.isPending} disabled={!nodeId || !name.trim()}>
              {target?.kind === "url" ? "Register" : "Install"}
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
