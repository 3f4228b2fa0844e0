import { Alert, Button, Text } from "@mantine/core";
import { IconPlayerStop } from "@tabler/icons-react";
import { useState } from "react";
import { useCancelRun } from "../api/runs.ts";
import type { Run } from "../api/types.ts";
import { ConfirmModal } from "./confirm-modal.tsx";

/** "Cancel run", asked first: a cancel cannot be undone and stops whatever the agent is doing on a Node. */
export function CancelRunButton({ run }: { run: Run }) {
  const [asking, setAsking] = useState(false);
  const cancel = useCancelRun();
  const close = () => {
    setAsking(false);
    cancel.reset();
  };
  return (
    <>
      <Button color="red" variant="light" leftSection={<IconPlayerStop size={16} />} onClick={() => setAsking(true)}>
        Cancel run
      </Button>
      <ConfirmModal
        opened={asking}
        onClose={close}
        title="Cancel this run?"
        confirmLabel="Cancel the run"
        loading={cancel.isPending}
        error={cancel.error}
        onConfirm={() => cancel.mutate(run.id, { onSuccess: close })}
      >
        The run stops now: a tool call in progress is abandoned and the model is not asked again. It cannot be resumed;
        Re-run starts a new one. The cancel is recorded under your name.
      </ConfirmModal>
    </>
  );
}

/** A cancelled run says who cancelled it, and the Core's reason unless it only repeats the title. */
export function CancelledAlert({ run }: { run: Run }) {
  const reason = run.error && !/^the run was cancelled\.?$/i.test(run.error.trim()) ? run.error : null;
  return (
    <Alert color="orange" variant="light" title="The run was cancelled" aria-label="Cancelled">
      {run.cancelledBy ? (
        <Text size="sm">
          Cancelled by <b>{run.cancelledBy}</b>.
        </Text>
      ) : null}
      {reason && reason !== "cancelled by a user" ? <Text size="sm">{reason}</Text> : null}
    </Alert>
  );
}
