import { Badge, Button, Code, Group, Stack, Text, Tooltip } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { IconSend } from "@tabler/icons-react";
import { useState } from "react";
import { useChannels, useDeleteChannel, useTestChannel } from "../api/channels.ts";
import { usePermissions } from "../api/me.ts";
import type { Channel, ChannelTestResult } from "../api/types.ts";
import { ErrorAlert } from "../components/query-state.tsx";
import { ResourceList } from "../components/resource-list.tsx";
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

/** The last test of a channel: the receiver's answer, or why the Core did not send it. */
type TestOutcome = { result: ChannelTestResult } | { error: unknown };

export default function ChannelsPage() {
  const channels = useChannels();
  const remove = useDeleteChannel();
  const test = useTestChannel();
  const [addOpened, addModal] = useDisclosure(false);
  // Per channel, so each row keeps its own answer while another is tested.
  const [outcomes, setOutcomes] = useState<Record<string, TestOutcome>>({});
  const [testing, setTesting] = useState<ReadonlySet<string>>(new Set());
  const { isAdmin, canOperate } = usePermissions();

  const runTest = (channel: Channel) => {
    setTesting((ids) => new Set(ids).add(channel.id));
    // mutateAsync: mutate's own callbacks fire only for the latest call, and two rows may be tested at once.
    test
      .mutateAsync(channel.id)
      .then(
        (result): TestOutcome => ({ result }),
        (error: unknown): TestOutcome => ({ error }),
      )
      .then((outcome) => {
        setOutcomes((all) => ({ ...all, [channel.id]: outcome }));
        setTesting((ids) => {
          const left = new Set(ids);
          left.delete(channel.id);
          return left;
        });
      });
  };

  return (
    <ResourceList
      title="Channels"
      description="Where runs are announced: a job's notifications name a channel and the outcomes that reach it."
      add={isAdmin && { label: "Add channel", onClick: addModal.open }}
      query={channels}
      rowKey={(channel) => channel.id}
      minWidth={640}
      empty={{
        title: "No channels yet",
        body: "Add a webhook, Slack, Discord, ntfy or email channel, then pick it in a job's Results section.",
      }}
      columns={[
        {
          header: "Name",
          cell: (channel) => (
            <Text ff="monospace" size="sm">
              {channel.name}
            </Text>
          ),
        },
        { header: "Kind", cell: (channel) => <Badge variant="outline">{KIND_LABELS[channel.kind]}</Badge> },
        {
          header: "Sends to",
          cell: (channel) => (
            <>
              <Text size="sm" style={{ wordBreak: "break-all" }}>
                {channelTarget(channel)}
              </Text>
              {channel.secrets.length > 0 ? (
                <Text size="xs" c="dimmed">
                  {secretLabels(channel)}
                </Text>
              ) : null}
            </>
          ),
        },
        { header: "Created", cell: (channel) => <TimeAgo iso={channel.createdAt} /> },
      ]}
      actions={
        canOperate
          ? (channel) => (
              <Tooltip label="Send a test message now">
                <Button
                  size="xs"
                  variant="light"
                  leftSection={<IconSend size={14} />}
                  loading={testing.has(channel.id)}
                  onClick={() => runTest(channel)}
                  aria-label={`Test ${channel.name}`}
                >
                  Test
                </Button>
              </Tooltip>
            )
          : undefined
      }
      details={(channel) => {
        const outcome = outcomes[channel.id];
        if (!outcome) return null;
        return "result" in outcome ? (
          <TestAnswer result={outcome.result} />
        ) : (
          <ErrorAlert error={outcome.error} title="Test not sent" />
        );
      }}
      remove={
        isAdmin && {
          verb: "Delete",
          title: "Delete channel",
          mutation: remove,
          variables: (channel) => channel.id,
          name: (channel) => channel.name,
          confirm: (channel) => (
            <>
              Delete <b>{channel.name}</b>? Jobs that notify it stop being announced there.
            </>
          ),
        }
      }
    >
      <AddChannelModal opened={addOpened} onClose={addModal.close} />
    </ResourceList>
  );
}
