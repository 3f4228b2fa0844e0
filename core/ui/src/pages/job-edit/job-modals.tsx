import type { Job } from "../../api/types.ts";
import { ConfirmModal } from "../../components/confirm-modal.tsx";

/** "Run now" with target Nodes offline (issue 22.1): says what the run will do, by the job's saved
 * offline setting, and lets the operator run it anyway. */
export function OfflineRunModal({
  opened,
  onClose,
  onConfirm,
  loading,
  offline,
  allOffline,
  job,
}: {
  opened: boolean;
  onClose: () => void;
  onConfirm: () => void;
  loading: boolean;
  offline: { name: string }[];
  allOffline: boolean;
  job: Job | undefined;
}) {
  const waits = job?.offlineNodes === "wait";
  return (
    <ConfirmModal
      opened={opened}
      onClose={onClose}
      title={allOffline ? "Every target Node is offline" : "Some target Nodes are offline"}
      confirmLabel="Run anyway"
      loading={loading}
      onConfirm={onConfirm}
    >
      <b>{offline.map((n) => n.name).join(", ")}</b> {offline.length === 1 ? "is" : "are"} not connected.{" "}
      {!allOffline
        ? "The run works with the other Nodes only; the model is told which are missing."
        : waits
          ? `The run waits up to ${job?.waitForNodesSeconds ?? 600} s for one of them to connect, then fails (nodes offline).`
          : "The run will fail at once (nodes offline): no tool could be offered to the model."}
    </ConfirmModal>
  );
}

/** Deleting a job: its schedule and webhook stop, its runs stay. */
export function DeleteJobModal({
  opened,
  onClose,
  onConfirm,
  loading,
  error,
  name,
}: {
  opened: boolean;
  onClose: () => void;
  onConfirm: () => void;
  loading: boolean;
  error: unknown;
  name: string | undefined;
}) {
  return (
    <ConfirmModal
      opened={opened}
      onClose={onClose}
      title="Delete job"
      confirmLabel="Delete"
      loading={loading}
      error={error}
      onConfirm={onConfirm}
    >
      Delete <b>{name}</b>? Its schedule and webhook stop at once. Past runs stay visible.
    </ConfirmModal>
  );
}
