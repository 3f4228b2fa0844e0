import { ActionIcon, Tooltip } from "@mantine/core";
import { IconTrash } from "@tabler/icons-react";
import type { ReactNode } from "react";
import { ConfirmModal } from "./confirm-modal.tsx";

/** A red trash icon with a tooltip, for a row's destructive action. */
export function DangerIconButton({
  tooltip,
  ariaLabel,
  onClick,
  disabled,
  mb,
}: {
  tooltip: string;
  ariaLabel: string;
  onClick: () => void;
  disabled?: boolean;
  mb?: number;
}) {
  return (
    <Tooltip label={tooltip} withArrow>
      <ActionIcon variant="subtle" color="red" aria-label={ariaLabel} disabled={disabled} mb={mb} onClick={onClick}>
        <IconTrash size={16} />
      </ActionIcon>
    </Tooltip>
  );
}

/** The mutation parts ConfirmDangerModal uses; a TanStack Query mutation fits. */
export interface DangerMutation<V> {
  isPending: boolean;
  error: unknown;
  mutate: (variables: V, options: { onSuccess: () => void }) => void;
}

/** ConfirmModal for the row in `target`: open while it is set, runs `mutation` on it and closes on success. */
export function ConfirmDangerModal<T, V>({
  target,
  onClose,
  mutation,
  variables,
  title,
  confirmLabel,
  children,
}: {
  target: T | null;
  onClose: () => void;
  mutation: DangerMutation<V>;
  variables: (target: T) => V;
  title: string;
  confirmLabel: string;
  children: ReactNode;
}) {
  return (
    <ConfirmModal
      opened={target !== null}
      onClose={onClose}
      title={title}
      confirmLabel={confirmLabel}
      loading={mutation.isPending}
      error={mutation.error}
      onConfirm={() => target !== null && mutation.mutate(variables(target), { onSuccess: onClose })}
    >
      {children}
    </ConfirmModal>
  );
}
