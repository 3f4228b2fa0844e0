import { Badge, Button, Code, Group, Stack, Table, Text, Tooltip } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconPlus, IconSend } from "@tabler/icons-react";
import { useState } from "react";
import { useChannels, useDeleteChannel, useTestChannel } from "../api/channels.ts";
import { usePermissions } from "../api/me.ts";
import type { Channel, ChannelTestResult } from "../api/types.ts";
import { ConfirmDangerModal, DangerIconButton } from "../components/danger-action.tsx";
import { Empty } from "../components/empty-state.tsx";
import { PageHeader } from "../components/page-header.tsx";
import { ErrorAlert, QueryState } from "../components/query-state.tsx";
import { TimeAgo } from "../components/time-ago.tsx";
import { AddChannelModal } from "./channels/add-channel-modal.tsx";
import { CHANNEL_FIELDS, channelTarget, KIND_LABELS } from "./channels/channel-kinds.ts";

/** "Signing secret set", in the form's words: which write-only values this channel holds. */
function secretLabels(channel: Channel): string {
  const label = (key: string) => CHANNEL_FIELDS[channel.kind].find((f) => f.key === key)?.label ?? key;
  return `${channel.secrets.map(label).join(", ")}: set, encrypted`;
}

/** What the receiver said to the last test message, under the channel's row. */
function TestAnswer({ result }: { result: ChannelTestResult }) {
  return (
    <Stack gap={4} data-testid="channel-test-answer">
      <Group gap="xs">
        <Badge color={result.ok ? "green" : "red"} variant="light">
          {result.ok ? "Delivered" : "Not delivered"}
        </Badge>
        {result.status !== undefined ? <Text size="sm">HTTP {result.status}</Text> : null}
        {!result.ok && result.retry ? (
          <Text size="sm" c="dimmed">
            a real notification would be retried
          </Text>
        ) : null}
      </Group>
      {result.error && result.error !== `HTTP ${result.status}` ? (
        <Text size="sm" c="red">
          {result.error}
        </Text>
      ) : null}
      {result.response ? (
        <Code block style={{ maxHeight: 120, overflow: "auto" }}>
          {result.response}
        </Code>
      ) : null}
    </Stack>
  );
}

function ChannelRow({ channel, onDelete }: { channel: Channel; onDelete: (c: Channel) => void }) {
  const test = useTestChannel();
  const { isAdmin, canOperate } = usePermissions();
  return (
    <>
      <Table.Tr>
        <Table.Td>
          <Text ff="monospace" size="sm">
            {channel.name}
          </Text>
        </Table.Td>
        <Table.Td>
          <Badge variant="outline">{KIND_LABELS[channel.kind]}</Badge>
        </Table.Td>
        <Table.Td>
          <Text size="sm" style={{ wordBreak: "break-all" }}>
            {channelTarget(channel)}
          </Text>
          {channel.secrets.length > 0 ? (
            <Text size="xs" c="dimmed">
              {secretLabels(channel)}
            </Text>
          ) : null}
        </Table.Td>
        <Table.Td>
          <TimeAgo iso={channel.createdAt} />
        </Table.Td>
        <Table.Td align="right">
          <Group gap="xs" justify="flex-end" wrap="nowrap">
            {canOperate && (
              <Tooltip label="Send a test message now">
                <Button
                  size="xs"
                  variant="light"
                  leftSection={<IconSend size={14} />}
                  loading={test.isPending}
                  onClick={() => test.mutate(channel.id)}
                  aria-label={`Test ${channel.name}`}
                >
                  Test
                </Button>
              </Tooltip>
            )}
            {isAdmin && (
              <DangerIconButton
                tooltip="Delete"
                ariaLabel={`Delete ${channel.name}`}
                onClick={() => onDelete(channel)}
              />
            )}
          </Group>
        </Table.Td>
      </Table.Tr>
      {test.data || test.error ? (
        <Table.Tr>
          <Table.Td colSpan={5}>
            {test.data ? <TestAnswer result={test.data} /> : <ErrorAlert error={test.error} title="Test not sent" />}
          </Table.Td>
        </Table.Tr>
      ) : null}
    </>
  );
}

export default function ChannelsPage() {
  const channels = useChannels();
  const remove = useDeleteChannel();
  const [addOpened, addModal] = useDisclosure(false);
  const [deleting, setDeleting] = useState<Channel | null>(null);
  const { isAdmin } = usePermissions();
  const list = channels.data ?? [];

  return (
    <>
      <PageHeader
        title="Channels"
        description="Where runs are announced: a job's notifications name a channel and the outcomes that reach it."
        actions={
          isAdmin && (
            <Button leftSection={<IconPlus size={16} />} onClick={addModal.open}>
              Add channel
            </Button>
          )
        }
      />
      <QueryState isPending={channels.isPending} error={channels.error} onRetry={() => channels.refetch()}>
        {list.length === 0 ? (
          <Empty title="No channels yet">
            Add a webhook, Slack, Discord, ntfy or email channel, then pick it in a job's Results section.
          </Empty>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table verticalSpacing="sm">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Kind</Table.Th>
                  <Table.Th>Sends to</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>
                    <span className="sr-only">Actions</span>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {list.map((channel) => (
                  <ChannelRow
                    key={channel.id}
                    channel={channel}
                    onDelete={(c) => {
                      remove.reset();
                      setDeleting(c);
                    }}
                  />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryState>
      <AddChannelModal opened={addOpened} onClose={addModal.close} />
      <ConfirmDangerModal
        target={deleting}
        onClose={() => setDeleting(null)}
        mutation={remove}
        variables={(c) => c.id}
        title="Delete channel"
        confirmLabel="Delete"
      >
        Delete <b>{deleting?.name}</b>? Jobs that notify it stop being announced there.
      </ConfirmDangerModal>
    </>
  );
}
