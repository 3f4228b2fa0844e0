import { Alert, Button, Card, Group, Modal, SimpleGrid, Stack, Text, Textarea, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconCheck, IconHandStop, IconShieldQuestion } from "@tabler/icons-react";
import { type FormEvent, useState } from "react";
import { errorMessage } from "../api/client.ts";
import { useApproveRun, useDenyRun } from "../api/runs.ts";
import type { PendingApproval } from "../api/types.ts";
import { toDisplayText } from "../lib/format.ts";
import { CodeBlock } from "./code-block.tsx";
import { ErrorAlert } from "./query-state.tsx";
import { TimeAgo } from "./time-ago.tsx";

function DenyModal({
  opened,
  onClose,
  runId,
  pending,
}: {
  opened: boolean;
  onClose: () => void;
  runId: string;
  pending: PendingApproval;
}) {
  const deny = useDenyRun();
  const [reason, setReason] = useState("");
  const close = () => {
    deny.reset();
    setReason("");
    onClose();
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    deny.mutate(
      { id: runId, approvalId: pending.id, reason: reason.trim() },
      {
        onSuccess: () => {
          notifications.show({ color: "orange", message: `Denied ${pending.tool}; the model is told why.` });
          close();
        },
      },
    );
  };
  return (
    <Modal opened={opened} onClose={close} title={`Deny ${pending.tool}`}>
      <form onSubmit={submit}>
        <Stack>
          <Textarea
            label="Reason"
            description="The model sees it as the tool's answer and may try something else."
            required
            autosize
            minRows={2}
            maxLength={2000}
            data-autofocus
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
          />
          {deny.error ? <ErrorAlert error={deny.error} title="Not denied" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" color="red" loading={deny.isPending} disabled={!reason.trim()}>
              Deny call
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

/** The tool call a run waits on, with Approve / Deny for those allowed to decide. */
export function ApprovalCard({
  runId,
  pending,
  nodeName,
  canDecide,
}: {
  runId: string;
  pending: PendingApproval;
  nodeName: string;
  canDecide: boolean;
}) {
  const approve = useApproveRun();
  const [denyOpened, denyModal] = useDisclosure(false);
  const source = pending.source && pending.source !== "builtin" ? pending.source : null;

  return (
    <Card withBorder padding="lg" style={{ borderColor: "var(--mantine-color-yellow-filled)" }}>
      <section aria-labelledby="approval-title">
        <Group gap="xs" mb="xs">
          <IconShieldQuestion size={20} aria-hidden color="var(--mantine-color-yellow-filled)" />
          <Title order={4} id="approval-title">
            Waiting for approval
          </Title>
        </Group>
        <Text size="sm" c="dimmed" mb="md">
          The job's approval policy holds this tool call until an operator decides. Nothing has run on the Node yet.
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 3 }} mb="md">
          <div>
            <Text size="xs" c="dimmed" fw={600} tt="uppercase">
              Tool
            </Text>
            <Text ff="monospace" size="sm">
              {pending.tool}
              {source ? (
                <Text span c="dimmed" size="xs">
                  {" "}
                  ({source})
                </Text>
              ) : null}
            </Text>
          </div>
          <div>
            <Text size="xs" c="dimmed" fw={600} tt="uppercase">
              Node
            </Text>
            <Text size="sm">{nodeName}</Text>
          </div>
          <div>
            <Text size="xs" c="dimmed" fw={600} tt="uppercase">
              Decide before
            </Text>
            {pending.deadline ? <TimeAgo iso={pending.deadline} /> : <Text size="sm">—</Text>}
          </div>
        </SimpleGrid>
        <Text size="xs" c="dimmed" fw={600} tt="uppercase" mb={4}>
          Arguments
        </Text>
        <CodeBlock code={toDisplayText(pending.arguments ?? {})} label="arguments of the pending call" />
        {approve.error ? <ErrorAlert error={approve.error} title="Not approved" /> : null}
        {canDecide ? (
          <Group mt="md">
            <Button
              color="green"
              leftSection={<IconCheck size={16} />}
              loading={approve.isPending}
              onClick={() =>
                approve.mutate(
                  { id: runId, approvalId: pending.id },
                  {
                    onSuccess: () => notifications.show({ color: "green", message: `Approved ${pending.tool}` }),
                    onError: (e) =>
                      notifications.show({ color: "red", title: "Not approved", message: errorMessage(e) }),
                  },
                )
              }
            >
              Approve
            </Button>
            <Button color="red" variant="light" leftSection={<IconHandStop size={16} />} onClick={denyModal.open}>
              Deny…
            </Button>
          </Group>
        ) : (
          <Alert color="gray" variant="light" mt="md">
            An operator or admin decides on this call; your role can only watch.
          </Alert>
        )}
      </section>
      <DenyModal opened={denyOpened} onClose={denyModal.close} runId={runId} pending={pending} />
    </Card>
  );
}
