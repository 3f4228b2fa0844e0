import { Button, Group, Modal, Stack, Text, Textarea } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { IconPencil, IconRefresh } from "@tabler/icons-react";
import { useState } from "react";
import { useNavigate } from "react-router";
import { errorMessage } from "../api/client.ts";
import { useRunJob } from "../api/jobs.ts";
import type { Run } from "../api/types.ts";
import { ErrorAlert } from "./query-state.tsx";

/* Issue 22.4: run a job again from one of its runs — with the same input, or with the input edited
 * first (JSON, checked before it is sent). Both start a new manual run and open it. */

function inputText(input: unknown): string {
  return input === undefined || input === null ? "" : JSON.stringify(input, null, 2);
}

export function RerunActions({ run, compact = false }: { run: Run; compact?: boolean }) {
  const navigate = useNavigate();
  const start = useRunJob();
  const [opened, modal] = useDisclosure(false);
  const [text, setText] = useState("");
  const [parseError, setParseError] = useState<string | null>(null);

  const go = (input: unknown) =>
    start.mutate(
      { id: run.jobId, ...(input === undefined || input === null ? {} : { input }) },
      {
        onSuccess: ({ runId }) => {
          modal.close();
          navigate(`/runs/${runId}`);
        },
        onError: (error) =>
          opened
            ? undefined
            : notifications.show({ color: "red", title: "Did not start", message: errorMessage(error) }),
      },
    );

  const submitEdited = () => {
    if (text.trim() === "") return go(undefined);
    try {
      go(JSON.parse(text));
    } catch (error) {
      setParseError(`Not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  return (
    <>
      <Button
        variant="default"
        size={compact ? "xs" : "sm"}
        leftSection={<IconRefresh size={16} />}
        loading={start.isPending && !opened}
        onClick={() => go(run.input)}
      >
        Re-run
      </Button>
      <Button
        variant="default"
        size={compact ? "xs" : "sm"}
        leftSection={<IconPencil size={16} />}
        onClick={() => {
          start.reset();
          setText(inputText(run.input));
          setParseError(null);
          modal.open();
        }}
      >
        Re-run with changed input
      </Button>
      <Modal opened={opened} onClose={modal.close} title="Re-run with changed input" centered size="lg">
        <Stack>
          <Text size="sm" c="dimmed">
            The job runs again as it is saved now, with this input (JSON; empty for none). Templates such as{" "}
            <code>{"{{input.repo}}"}</code> in its prompt are filled from it.
          </Text>
          <Textarea
            label="Input"
            value={text}
            onChange={(e) => {
              setText(e.currentTarget.value);
              setParseError(null);
            }}
            error={parseError}
            autosize
            minRows={6}
            maxRows={20}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            data-autofocus
          />
          {start.error ? <ErrorAlert error={start.error} title="Did not start" /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={modal.close}>
              Cancel
            </Button>
            <Button onClick={submitEdited} loading={start.isPending} leftSection={<IconRefresh size={16} />}>
              Run with this input
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
